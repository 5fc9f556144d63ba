-- Who a user is: ARGV 'uid' and a uid, or 'nick' and a folded nick, or
-- 'member', a room key and a folded nick (the nick's holder if it is in
-- the room).  Answers {HGETALL of its record, display names of its rooms},
-- or false.
local how = ARGV[1]
local uid
if how == 'uid' then
  uid = ARGV[2]
elseif how == 'nick' then
  uid = redis.call('GET', P .. 'nick-holder:' .. ARGV[2])
else
  uid = redis.call('GET', P .. 'nick-holder:' .. ARGV[3])
  if uid and redis.call('HEXISTS', P .. 'members:' .. ARGV[2], uid) == 0 then
    uid = false
  end
end
if not uid then return false end
local info = redis.call('HGETALL', P .. 'user:' .. uid)
if #info == 0 then return false end
local rooms = {}
for _, room in ipairs(redis.call('SMEMBERS', P .. 'user-rooms:' .. uid)) do
  local name = redis.call('HGET', P .. 'live-rooms', room)
  if name then rooms[#rooms + 1] = name end
end
table.sort(rooms)
return {uid, info, rooms}
