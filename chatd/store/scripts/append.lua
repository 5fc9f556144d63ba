-- Store one room's messages (or reactions) of one reactor turn, give
-- each its id, and publish them: the cid checks, the next ids, the
-- history entries, retention and one PUBLISH all in one script, so that
-- the room's channel carries messages in id order, and a node that sent
-- several messages in one turn pays for one call and one published frame.
-- A reaction is also put in the room's index of reactions, scored by the
-- message it is on.
--
-- KEYS: 1 room record, 2 history stream, 3 cid index, 4 cluster record, 5 stored rooms,
--   6 the room's reactions index, then one cid key per message (7, 8, ...)
-- ARGV: 1 room key, 2 display name (if the record is new), 3 keep, 4 cid window in seconds,
--   5 in milliseconds, 6 the epoch the node knows, 7 a new epoch (if one is needed),
--   8 the room's channel, then four per message: the value (MessagePack map without the
--   room: the script adds the record's name), ts, "1" if there is a cid, and the message a
--   reaction is on ("": not a reaction)
-- Returns {epoch to learn or "", then per message: id, 1, "" for a new message, or
--   id, 0, ts for a repeated cid}.
-- Publishes "<first new id>\n" followed by the new messages' values, one
-- after another (MessagePack values end by themselves; their ids follow on).

local record = redis.call('HMGET', KEYS[1], 'last', 'name')
local learn = ''
if not record[1] then
  learn = make_room(KEYS[1], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[6], ARGV[7]) or ''
  record = redis.call('HMGET', KEYS[1], 'last', 'name')
end
local last = tonumber(record[1])
local name = record[2]

-- Each value is a MessagePack fixmap (at most 14 fields) without "room":
-- one more field, the room's display name as a MessagePack str.
local size = string.len(name)
local packed
if size < 32 then
  packed = string.char(0xa0 + size)
elseif size < 256 then
  packed = string.char(0xd9, size)
else
  packed = string.char(0xda, math.floor(size / 256), size % 256)
end
local room_field = '\164room' .. packed .. name

local window = tonumber(ARGV[4])
local answer = {learn}
local published = {}
local first = nil
local n = (#ARGV - 8) / 4
for i = 1, n do
  local at = 8 + (i - 1) * 4
  local value, ts, has_cid, on = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]
  local cid_key = KEYS[6 + i]
  local seen_id, seen_ts = nil, nil
  if has_cid == '1' then
    local seen = redis.call('GET', cid_key)
    if seen then
      local space = string.find(seen, ' ', 1, true)
      if tonumber(ts) - tonumber(string.sub(seen, space + 1)) < window then
        seen_id, seen_ts = tonumber(string.sub(seen, 1, space - 1)), string.sub(seen, space + 1)
      end
    end
  end
  if seen_id then
    answer[#answer + 1] = seen_id
    answer[#answer + 1] = 0
    answer[#answer + 1] = seen_ts
  else
    last = last + 1
    local id = int(last)
    value = string.char(string.byte(value, 1) + 1) .. string.sub(value, 2) .. room_field
    redis.call('XADD', KEYS[2], id .. '-0', 't', ts, 'v', value)
    if on ~= '' then
      redis.call('ZADD', KEYS[6], on, id)
    end
    if has_cid == '1' then
      redis.call('SET', cid_key, id .. ' ' .. ts, 'PX', ARGV[5])
      redis.call('ZADD', KEYS[3], ts, cid_key)
    end
    if not first then
      first = id
    end
    published[#published + 1] = value
    answer[#answer + 1] = last
    answer[#answer + 1] = 1
    answer[#answer + 1] = ''
  end
end

if first then
  redis.call('HSET', KEYS[1], 'last', int(last))
  local trimmed, bound = trim(KEYS[1], 'pruned_below', KEYS[2], tonumber(ARGV[3]))
  if trimmed > 0 then
    forget_reactions(KEYS[6], bound)
  end
  redis.call('PUBLISH', ARGV[8], first .. '\n' .. table.concat(published))
end
return answer
