-- The account called KEYS[1], or else the one whose look is KEYS[2].
--
-- KEYS: 1 account, 2 look
-- ARGV: 1 account key prefix
-- Returns its fields (HGETALL), empty if none.

local found = redis.call('HGETALL', KEYS[1])
if #found > 0 then
  return found
end
local owner = redis.call('GET', KEYS[2])
if not owner then
  return {}
end
return redis.call('HGETALL', ARGV[1] .. owner)
