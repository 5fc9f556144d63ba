-- A node's heartbeat: ARGV node, ttl_ms, info (JSON), then uids.  Keeps
-- the node alive and its users' keys from expiring.  Answers
-- {known, uid...}: known is 0 if the node was not registered (its first
-- beat, or the janitor took it for dead), then the uids whose record had
-- expired (Redis was away longer than the ttl).
local node, ttl, info = ARGV[1], ARGV[2], ARGV[3]
local known = redis.call('HEXISTS', P .. 'nodes', node)
redis.call('SET', P .. 'alive:' .. node, '1', 'PX', ttl)
redis.call('HSET', P .. 'nodes', node, info)
local out = {known}
for i = 4, #ARGV do
  local uid = ARGV[i]
  local uk = P .. 'user:' .. uid
  if redis.call('PEXPIRE', uk, ttl) == 0 then
    out[#out + 1] = uid
  else
    local names = redis.call('HMGET', uk, 'key', 'look')
    if names[1] and redis.call('GET', P .. 'nick-holder:' .. names[1]) == uid then
      redis.call('PEXPIRE', P .. 'nick-holder:' .. names[1], ttl)
    end
    if names[2] and redis.call('GET', P .. 'look-holder:' .. names[2]) == uid then
      redis.call('PEXPIRE', P .. 'look-holder:' .. names[2], ttl)
    end
    redis.call('PEXPIRE', P .. 'user-rooms:' .. uid, ttl)
  end
end
return out
