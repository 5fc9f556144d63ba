-- Keep a login token (its digest) for an account that exists.
--
-- KEYS: 1 account, 2 token, 3 the account's tokens, 4 token expiry index
-- ARGV: 1 digest, 2 account key, 3 expires, 4 account tokens prefix
-- Returns 1, or 0 if there is no such account.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local before = redis.call('GET', KEYS[2])
if before then
  redis.call('SREM', ARGV[4] .. string.sub(before, string.find(before, ' ', 1, true) + 1), ARGV[1])
end
redis.call('SET', KEYS[2], ARGV[3] .. ' ' .. ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return 1
