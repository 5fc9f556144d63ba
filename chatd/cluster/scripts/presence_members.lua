-- A room's members: ARGV room key.  Answers {member, away, ...}: each
-- member as kept ("nick\naccount\nnodes") and its away message ('' if it
-- is not away).
local out = {}
local members = redis.call('HGETALL', P .. 'members:' .. ARGV[1])
for i = 1, #members, 2 do
  out[#out + 1] = members[i + 1]
  out[#out + 1] = redis.call('HGET', P .. 'user:' .. members[i], 'away') or ''
end
return out
