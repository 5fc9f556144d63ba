-- A user logged in or out: what uid ARGV[1] held moves to uid ARGV[2].
-- ARGV node, account, account_name, ttl_ms.
local old, new, node, acct, acct_name, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local ok_, nk_ = P .. 'user:' .. old, P .. 'user:' .. new
local info = redis.call('HGETALL', ok_)
if #info == 0 then return 0 end
local names = redis.call('HMGET', ok_, 'key', 'look')
if names[1] and redis.call('GET', P .. 'nick-holder:' .. names[1]) == old then
  redis.call('SET', P .. 'nick-holder:' .. names[1], new, 'PX', ttl)
end
if names[2] and redis.call('GET', P .. 'look-holder:' .. names[2]) == old then
  redis.call('SET', P .. 'look-holder:' .. names[2], new, 'PX', ttl)
end
for i = 1, #info, 2 do
  redis.call('HSET', nk_, info[i], info[i + 1])
end
redis.call('HSET', nk_, 'account', acct, 'account_name', acct_name)
redis.call('PEXPIRE', nk_, ttl)
redis.call('DEL', ok_)
local old_rooms, new_rooms = P .. 'user-rooms:' .. old, P .. 'user-rooms:' .. new
for _, room in ipairs(redis.call('SMEMBERS', old_rooms)) do
  local mk = P .. 'members:' .. room
  local v = redis.call('HGET', mk, old)
  if v then
    redis.call('HDEL', mk, old)
    local nick, _, nodes = split_member(v)
    local there = redis.call('HGET', mk, new)
    if there then
      local _, _, more = split_member(there)
      for _, n in ipairs(more) do
        if not has(nodes, n) then nodes[#nodes + 1] = n end
      end
    end
    redis.call('HSET', mk, new, join_member(nick, acct, nodes))
  end
  redis.call('SADD', new_rooms, room)
  redis.call('SREM', P .. 'node-members:' .. node, room .. '\n' .. old)
  redis.call('SADD', P .. 'node-members:' .. node, room .. '\n' .. new)
end
redis.call('DEL', old_rooms)
if redis.call('EXISTS', new_rooms) == 1 then redis.call('PEXPIRE', new_rooms, ttl) end
redis.call('SREM', P .. 'node-users:' .. node, old)
redis.call('SADD', P .. 'node-users:' .. node, new)
return 1
