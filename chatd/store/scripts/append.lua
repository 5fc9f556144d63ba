-- Store one room message (or reaction), give it its id, and publish it:
-- the cid check, the next id, the history entry, retention and the
-- publish all in one script, so that the room's channel carries messages
-- in id order.  A reaction is also put in the room's index of reactions,
-- scored by the message it is on.
--
-- KEYS: 1 room record, 2 history stream, 3 cid key, 4 cid index, 5 cluster record, 6 stored rooms,
--   7 the room's reactions index
-- ARGV: 1 room key, 2 display name (if the record is new), 3 value (MessagePack map without
--   the room: the script adds the record's name), 4 ts, 5 "1" if there is a cid, 6 keep,
--   7 cid window in seconds, 8 in milliseconds, 9 the epoch the node knows, 10 a new epoch
--   (if one is needed), 11 the room's channel, 12 the message a reaction is on ("": not a reaction)
-- Returns {id, 1[, epoch to learn]} for a new message, {id, 0, ts} for a repeated cid.

local ts = ARGV[4]
if ARGV[5] == '1' then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    local space = string.find(seen, ' ', 1, true)
    local seen_ts = string.sub(seen, space + 1)
    if tonumber(ts) - tonumber(seen_ts) < tonumber(ARGV[7]) then
      return {tonumber(string.sub(seen, 1, space - 1)), 0, seen_ts}
    end
  end
end

local record = redis.call('HMGET', KEYS[1], 'last', 'name')
local learn = nil
if not record[1] then
  learn = make_room(KEYS[1], KEYS[5], KEYS[6], ARGV[1], ARGV[2], ARGV[9], ARGV[10])
  record = redis.call('HMGET', KEYS[1], 'last', 'name')
end
local id = tonumber(record[1]) + 1
local name = record[2]

-- The value is a MessagePack fixmap (at most 15 fields) without "room":
-- one more field, the room's display name as a MessagePack str.
local value = ARGV[3]
local size = string.len(name)
local packed
if size < 32 then
  packed = string.char(0xa0 + size)
elseif size < 256 then
  packed = string.char(0xd9, size)
else
  packed = string.char(0xda, math.floor(size / 256), size % 256)
end
value = string.char(string.byte(value, 1) + 1) .. string.sub(value, 2) .. '\164room' .. packed .. name

redis.call('XADD', KEYS[2], int(id) .. '-0', 't', ts, 'v', value)
redis.call('HSET', KEYS[1], 'last', int(id))
if ARGV[12] ~= '' then
  redis.call('ZADD', KEYS[7], ARGV[12], int(id))
end
local trimmed, bound = trim(KEYS[1], 'pruned_below', KEYS[2], tonumber(ARGV[6]))
if trimmed > 0 then
  forget_reactions(KEYS[7], bound)
end
if ARGV[5] == '1' then
  redis.call('SET', KEYS[3], int(id) .. ' ' .. ts, 'PX', ARGV[8])
  redis.call('ZADD', KEYS[4], ts, KEYS[3])
end
redis.call('PUBLISH', ARGV[11], int(id) .. '\n' .. value)
if learn then
  return {id, 1, learn}
end
return {id, 1}
