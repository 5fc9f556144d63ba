-- The reactions of a room aimed at some of its messages, by the room's
-- index (reaction id scored by the message it is on): the entries of the
-- reactions scored in the range, whose message is one of those asked for.
-- A reaction deleted since is skipped.
--
-- KEYS: 1 history stream, 2 reactions index
-- ARGV: 1 the lowest message id asked for, 2 the highest, 3... every id asked for
-- Returns the entries, in the index's order (the caller sorts them by id).

local wanted = {}
for i = 3, #ARGV do
  wanted[tonumber(ARGV[i])] = true
end
local rows = {}
local found = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], ARGV[2], 'WITHSCORES')
for i = 1, #found, 2 do
  if wanted[tonumber(found[i + 1])] then
    local entry = redis.call('XRANGE', KEYS[1], found[i] .. '-0', found[i] .. '-0')
    if entry[1] then
      rows[#rows + 1] = entry[1]
    end
  end
end
return rows
