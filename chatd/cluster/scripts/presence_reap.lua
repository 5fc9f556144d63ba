-- The janitor clears up after a dead node, ARGV[1] (unless it is alive
-- again, or ARGV[2] is '1': a node starting or stopping clears up after
-- itself): its memberships and users go.  Answers {room key, room name,
-- nick, ...} for each user whose last membership in a room was there:
-- the janitor publishes their quits.
local node = ARGV[1]
if ARGV[2] ~= '1' and redis.call('EXISTS', P .. 'alive:' .. node) == 1 then return {} end
local out = {}
local nm = P .. 'node-members:' .. node
for _, entry in ipairs(redis.call('SMEMBERS', nm)) do
  local room, uid = string.match(entry, '^(.-)\n(.*)$')
  local mk = P .. 'members:' .. room
  local v = room and redis.call('HGET', mk, uid)
  if v then
    local nick, acct, nodes = split_member(v)
    nodes = without(nodes, node)
    if #nodes > 0 then
      redis.call('HSET', mk, uid, join_member(nick, acct, nodes))
    else
      redis.call('HDEL', mk, uid)
      redis.call('SREM', P .. 'user-rooms:' .. uid, room)
      out[#out + 1] = room
      out[#out + 1] = redis.call('HGET', P .. 'live-rooms', room) or room
      out[#out + 1] = nick
      if redis.call('HLEN', mk) == 0 then
        redis.call('HDEL', P .. 'live-rooms', room)
      end
    end
  end
end
redis.call('DEL', nm)
local nu = P .. 'node-users:' .. node
for _, uid in ipairs(redis.call('SMEMBERS', nu)) do
  release(uid, node)
end
redis.call('DEL', nu)
redis.call('HDEL', P .. 'nodes', node)
return out
