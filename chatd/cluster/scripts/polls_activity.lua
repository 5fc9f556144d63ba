-- The owner asks when the session last polled (on whichever node), and
-- keeps its keys alive meanwhile.
-- KEYS: record, queue.  ARGV: ttl (ms).
-- Returns {polled, held until} (ms), or {} when the session is gone.
local f = redis.call('HMGET', KEYS[1], 'polled', 'held')
if not f[1] then
  return {}
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return {f[1], f[2]}
