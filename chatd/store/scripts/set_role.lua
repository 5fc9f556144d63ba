-- Give an account a role in a room, or take it away (ARGV[3] empty).
--
-- KEYS: 1 the room's roles, 2 account, 3 the account's rooms with a role
-- ARGV: 1 account key, 2 room key, 3 role
-- Returns 1, or 0 if a role was given to an account that is not there.

if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[2])
  return 1
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[2])
return 1
