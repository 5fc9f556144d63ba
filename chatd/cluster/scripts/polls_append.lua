-- The owner appends what the core delivered during one reactor turn, in
-- order, each entry numbered seq+1, seq+2, ...  Past the bound (entries or
-- bytes) the oldest entries are dropped and one overflow entry, counting
-- every drop until it is acknowledged, stays the newest (as PollQueue).
-- Then one wake-up on the session's channel, and the keys' lifetime renewed.
-- KEYS: record, queue.
-- ARGV: wake channel, ttl (ms), backlog, max bytes (0: none), bytes kept
--       free for the overflow entry, the overflow entry's three parts
--       (around the number dropped, twice), then the entries.
-- Returns the newest seq, or -1 when the session is gone.
local record, queue = KEYS[1], KEYS[2]
if redis.call('EXISTS', record) == 0 then
  return -1
end
local backlog, max_bytes, room = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local f = redis.call('HMGET', record, 'seq', 'bytes', 'marker', 'mlen', 'dropped')
local seq, bytes, marker, mlen, dropped = tonumber(f[1]), tonumber(f[2]), tonumber(f[3]), tonumber(f[4]),
                                          tonumber(f[5])
local count = redis.call('XLEN', queue)

local function over(reserve)
  return max_bytes > 0 and bytes + reserve > max_bytes
end

local function push(data)
  seq = seq + 1
  redis.call('XADD', queue, seq .. '-0', 'd', data)
  bytes = bytes + #data
  count = count + 1
end

local function shed()
  if marker > 0 then
    redis.call('XDEL', queue, marker .. '-0')
    bytes = bytes - mlen
    count = count - 1
    marker = 0
  end
  while count > 1 and (count + 1 > backlog or over(room)) do
    local oldest = redis.call('XRANGE', queue, '-', '+', 'COUNT', 1)[1]
    redis.call('XDEL', queue, oldest[1])
    bytes = bytes - #oldest[2][2]
    count = count - 1
    dropped = dropped + 1
  end
  local note = ARGV[6] .. dropped .. ARGV[7] .. dropped .. ARGV[8]
  push(note)
  marker, mlen = seq, #note
end

for i = 9, #ARGV do
  push(ARGV[i])
  if count > backlog or over(0) then
    shed()
  end
end
redis.call('HSET', record, 'seq', seq, 'bytes', bytes, 'marker', marker, 'mlen', mlen, 'dropped', dropped)
redis.call('PEXPIRE', record, ARGV[2])
redis.call('PEXPIRE', queue, ARGV[2])
redis.call('PUBLISH', ARGV[1], 'a' .. seq)
return seq
