-- Pruning, first step: forget client message ids older than the window,
-- and tokens, bans and room marks that have ended, at most ARGV[3] of
-- them per call.
--
-- KEYS: 1 cid index, 2 token expiry index, 3 ban expiry index, 4 mark expiry index
-- ARGV: 1 oldest cid time kept, 2 now, 3 budget, 4 token prefix, 5 account tokens prefix
-- Returns {how many were deleted, 1 if nothing more is due}.

local budget = tonumber(ARGV[3])
local deleted = 0

local function due(index, max)
  return redis.call('ZRANGEBYSCORE', index, '-inf', max, 'LIMIT', 0, budget - deleted)
end

for _, key in ipairs(due(KEYS[1], '(' .. ARGV[1])) do
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], key)
  deleted = deleted + 1
end
if deleted < budget then
  for _, digest in ipairs(due(KEYS[2], ARGV[2])) do
    local found = redis.call('GET', ARGV[4] .. digest)
    if found then
      redis.call('SREM', ARGV[5] .. string.sub(found, string.find(found, ' ', 1, true) + 1), digest)
      redis.call('DEL', ARGV[4] .. digest)
    end
    redis.call('ZREM', KEYS[2], digest)
    deleted = deleted + 1
  end
end
for i = 3, 4 do
  if deleted < budget then
    for _, member in ipairs(due(KEYS[i], ARGV[2])) do
      local cut = string.find(member, '\n', 1, true)
      redis.call('HDEL', string.sub(member, 1, cut - 1), string.sub(member, cut + 1))
      redis.call('ZREM', KEYS[i], member)
      deleted = deleted + 1
    end
  end
end
if deleted < budget then
  return {deleted, 1}
end
return {deleted, 0}
