-- A poll, on any node: acknowledge (drop) every entry up to `after`, then
-- answer the entries after it.  An owner that is not alive loses the
-- session: its keys go, and the poll is told.
-- KEYS: record, queue.
-- ARGV: after, now (ms), mode, hold (ms), poll number, this node, the
--       alive key prefix, wake channel.
-- mode "poll": a new poll; it takes the next poll number and says so on
--   the wake channel (a poll held elsewhere then answers at once); if it
--   will be held, the record says until when (a held poll is activity).
-- mode "look": a held poll reads again (woken); if it finds entries it ends.
-- mode "end": a held poll ends (timed out, or another poll came).
-- Returns {0} no such session; {1, owner} lost; {2, owner, after, poll
-- number, seq1, data1, seq2, data2, ...}.
local record, queue = KEYS[1], KEYS[2]
local f = redis.call('HMGET', record, 'owner', 'seq', 'marker', 'polls', 'heldby')
local owner = f[1]
if not owner then
  return {0}
end
if owner ~= ARGV[6] and redis.call('EXISTS', ARGV[7] .. owner) == 0 then
  redis.call('DEL', record, queue)
  return {1, owner}
end
local seq, marker, number, heldby = tonumber(f[2]), tonumber(f[3]), tonumber(f[4]), tonumber(f[5])
local after = math.min(math.max(tonumber(ARGV[1]), 0), seq)

local acked = redis.call('XRANGE', queue, '-', after .. '-0')
if #acked > 0 then
  local freed = 0
  for _, entry in ipairs(acked) do
    freed = freed + #entry[2][2]
  end
  redis.call('XTRIM', queue, 'MINID', (after + 1) .. '-0')
  redis.call('HINCRBY', record, 'bytes', -freed)
  if marker > 0 and marker <= after then
    redis.call('HSET', record, 'marker', 0, 'mlen', 0, 'dropped', 0)
  end
end

local entries = redis.call('XRANGE', queue, '(' .. after .. '-0', '+')
local mode, now = ARGV[3], ARGV[2]
if mode == 'poll' then
  number = redis.call('HINCRBY', record, 'polls', 1)
  redis.call('PUBLISH', ARGV[8], 'p' .. number)
  local hold = tonumber(ARGV[4])
  if #entries == 0 and hold > 0 then
    redis.call('HSET', record, 'polled', now, 'held', tonumber(now) + hold, 'heldby', number)
  else
    redis.call('HSET', record, 'polled', now, 'held', 0, 'heldby', 0)
  end
else
  number = tonumber(ARGV[5])
  if mode == 'end' or #entries > 0 then
    redis.call('HSET', record, 'polled', now)
    if heldby == number then
      redis.call('HSET', record, 'held', 0, 'heldby', 0)
    end
  end
end

local out = {2, owner, after, number}
for _, entry in ipairs(entries) do
  out[#out + 1] = entry[1]
  out[#out + 1] = entry[2][2]
end
return out
