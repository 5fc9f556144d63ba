-- Register an account unless its name or its look-alike is taken: one
-- script, so that two nodes registering the same name cannot both win.
--
-- KEYS: 1 account, 2 look, 3 accounts
-- ARGV: 1 key, 2 look, 3 name, 4 password hash, 5 email, 6 created, 7 account key prefix
-- Returns nil when made, else the taken account's fields (HGETALL).

local existing = KEYS[1]
if redis.call('EXISTS', existing) == 0 then
  local owner = redis.call('GET', KEYS[2])
  if not owner then
    redis.call('HSET', KEYS[1], 'name', ARGV[3], 'key', ARGV[1], 'look', ARGV[2], 'password_hash', ARGV[4],
               'email', ARGV[5], 'created', ARGV[6], 'last_private', '0', 'privates_pruned_below', '0')
    redis.call('SET', KEYS[2], ARGV[1])
    redis.call('SADD', KEYS[3], ARGV[1])
    return nil
  end
  existing = ARGV[7] .. owner
end
return redis.call('HGETALL', existing)
