-- Set one field of a hash that must exist (an account's password hash).
--
-- KEYS: 1 the hash
-- ARGV: 1 field, 2 value
-- Returns 1, or 0 if there is no such hash.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
