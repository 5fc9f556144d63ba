-- A node has already delivered ids up to ARGV[3] in this room, above the
-- room's last id: Redis lost them.  Ids go on above it, and resuming from
-- below it is told that history is missing (everything below is pruned).
--
-- KEYS: 1 room record, 2 history stream, 3 cluster record, 4 stored rooms
-- ARGV: 1 room key, 2 display name (if the record is new), 3 the last id delivered,
--   4 the epoch the node knows, 5 a new epoch (if one is needed)
-- Returns {last id of the room[, epoch to learn]}.

local learn = make_room(KEYS[1], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[4], ARGV[5])
local last = tonumber(redis.call('HGET', KEYS[1], 'last'))
local floor = tonumber(ARGV[3])
if last < floor then
  last = floor
  redis.call('HSET', KEYS[1], 'last', int(floor), 'pruned_below', int(floor + 1))
  redis.call('XTRIM', KEYS[2], 'MINID', int(floor + 1))
end
if learn then
  return {last, learn}
end
return {last}
