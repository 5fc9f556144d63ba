-- Retention for one stream (a room's history, an account's private
-- messages): delete its oldest entries beyond the newest ARGV[2], and
-- those older than ARGV[3], at most ARGV[4] of them.  Only a prefix
-- goes, so that its owner's pruned_below alone says what was taken: an
-- old entry behind a newer one waits for it.
--
-- KEYS: 1 owner (room record or account), 2 stream, 3 (a room's) reactions index
-- ARGV: 1 the owner's pruned_below field, 2 keep ("": any number), 3 cutoff time ("": any
--   age), 4 budget
-- Returns {how many were deleted, 1 if nothing more is due}.

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0, 1}
end
local budget = tonumber(ARGV[4])
local over = 0
if ARGV[2] ~= '' then
  over = redis.call('XLEN', KEYS[2]) - tonumber(ARGV[2])
end
local cutoff = tonumber(ARGV[3])
local deleted, last, start, done = 0, nil, '-', false
while not done and deleted < budget do
  local want = math.min(100, budget - deleted)
  local batch = redis.call('XRANGE', KEYS[2], start, '+', 'COUNT', want)
  for _, entry in ipairs(batch) do
    if deleted < over or (cutoff and tonumber(entry[2][2]) < cutoff) then
      deleted = deleted + 1
      last = entry[1]
    else
      done = true
      break
    end
  end
  if #batch < want then
    done = true
  elseif last then
    start = '(' .. last
  end
end
if last then
  local bound = entry_id(last) + 1
  redis.call('XTRIM', KEYS[2], 'MINID', int(bound))
  redis.call('HSET', KEYS[1], ARGV[1], int(bound))
  if KEYS[3] then
    forget_reactions(KEYS[3], bound)
  end
end
if done then
  return {deleted, 1}
end
return {deleted, 0}
