-- The node's last connection of a user left a room: ARGV room key, uid,
-- node.  Answers 1 if the user left the room altogether.
local room, uid, node = ARGV[1], ARGV[2], ARGV[3]
local mk = P .. 'members:' .. room
redis.call('SREM', P .. 'node-members:' .. node, room .. '\n' .. uid)
local v = redis.call('HGET', mk, uid)
if not v then return 0 end
local nick, acct, nodes = split_member(v)
nodes = without(nodes, node)
if #nodes > 0 then
  redis.call('HSET', mk, uid, join_member(nick, acct, nodes))
  return 0
end
redis.call('HDEL', mk, uid)
redis.call('SREM', P .. 'user-rooms:' .. uid, room)
if redis.call('HLEN', mk) == 0 then
  redis.call('HDEL', P .. 'live-rooms', room)
end
return 1
