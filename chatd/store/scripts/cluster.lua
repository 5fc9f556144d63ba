-- A node opening the store: make the cluster record, or find out that
-- Redis lost its data since the node last saw it.
--
-- KEYS: 1 cluster record
-- ARGV: 1 a new epoch, 2 the epoch the node's state file names ("" if none),
--   3 now in milliseconds
-- Returns {epoch, floor, how}: how is "new" (a new cluster), "same" (the node knew
-- it, or never knew one), or "lost" (the record is gone or names another epoch).

local found = redis.call('HMGET', KEYS[1], 'epoch', 'floor')
local epoch, floor, known = found[1], tonumber(found[2]), ARGV[2]
local now_ms = tonumber(ARGV[3])
if not epoch then
  epoch = ARGV[1]
  if known == '' then
    floor = 0
  else
    floor = now_ms
  end
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'floor', int(floor))
  if known == '' then
    return {epoch, int(floor), 'new'}
  end
  return {epoch, int(floor), 'lost'}
end
if known ~= '' and known ~= epoch then
  if floor < now_ms then
    floor = now_ms
    redis.call('HSET', KEYS[1], 'floor', int(floor))
  end
  return {epoch, int(floor), 'lost'}
end
return {epoch, int(floor), 'same'}
