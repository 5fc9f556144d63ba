-- The account a token names, or nil if it is unknown or expired at
-- ARGV[2]; an expired token is deleted as it is found.  With ARGV[2]
-- empty the token is deleted whatever its time (a logout).
--
-- KEYS: 1 token, 2 token expiry index
-- ARGV: 1 digest, 2 now (or ""), 3 account tokens prefix

local found = redis.call('GET', KEYS[1])
if not found then
  return nil
end
local space = string.find(found, ' ', 1, true)
local expires, key = tonumber(string.sub(found, 1, space - 1)), string.sub(found, space + 1)
if ARGV[2] ~= '' and expires > tonumber(ARGV[2]) then
  return key
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', ARGV[3] .. key, ARGV[1])
return nil
