-- Read a stream (a room's history, an account's private messages) with
-- what its owner says was pruned, in one step.
--
-- KEYS: 1 owner (room record or account), 2 stream
-- ARGV: 1 the owner's pruned_below field, 2 highest entry id wanted ("+": the newest),
--   3 lowest ("-": the oldest), 4 how many (0: none, only pruned_below),
--   5 (optional) "oldest": the oldest ones of the range, oldest first
-- Returns {pruned_below, entries newest first (oldest first with "oldest")}
-- or {} when there is no owner.

local pruned_below = redis.call('HGET', KEYS[1], ARGV[1])
if not pruned_below then
  return {}
end
local rows = {}
if tonumber(ARGV[4]) > 0 then
  if ARGV[5] == 'oldest' then
    rows = redis.call('XRANGE', KEYS[2], ARGV[3], ARGV[2], 'COUNT', ARGV[4])
  else
    rows = redis.call('XREVRANGE', KEYS[2], ARGV[2], ARGV[3], 'COUNT', ARGV[4])
  end
end
return {tonumber(pruned_below), rows}
