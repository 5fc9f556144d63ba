-- A connection of a user entered a room on a node: ARGV room key, room
-- name, uid, nick, account, node, ttl_ms.  Answers {first, alone}: the
-- user was not in the room before; nobody else was.
local room, name, uid, nick, acct, node, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local mk = P .. 'members:' .. room
local v = redis.call('HGET', mk, uid)
local count = redis.call('HLEN', mk)
local first, alone, nodes = 0, 0, {}
if v then
  local _
  _, _, nodes = split_member(v)
  if count == 1 then alone = 1 end
else
  first = 1
  if count == 0 then alone = 1 end
end
if not has(nodes, node) then nodes[#nodes + 1] = node end
redis.call('HSET', mk, uid, join_member(nick, acct, nodes))
redis.call('HSET', P .. 'live-rooms', room, name)
redis.call('SADD', P .. 'node-members:' .. node, room .. '\n' .. uid)
local ur = P .. 'user-rooms:' .. uid
redis.call('SADD', ur, room)
redis.call('PEXPIRE', ur, ttl)
return {first, alone}
