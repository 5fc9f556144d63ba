-- Move an account's read marker forward (never back): a device that
-- read less than another changes nothing.
--
-- KEYS: 1 account, 2 its read markers
-- ARGV: 1 target (a room's key, or "@" and a folded nick), 2 the id read
-- Returns the marker kept, or -1 if there is no such account.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return -1
end
local kept = redis.call('HGET', KEYS[2], ARGV[1])
if kept and tonumber(kept) >= tonumber(ARGV[2]) then
  return tonumber(kept)
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return tonumber(ARGV[2])
