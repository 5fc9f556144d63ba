-- Keep one preference of an account that is there.
--
-- KEYS: 1 account, 2 its preferences
-- ARGV: 1 name, 2 value
-- Returns 1, or 0 if there is no such account.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
