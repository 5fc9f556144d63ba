-- A user is away, or back: ARGV uid, away message ('' for back).
-- Answers the message it had until now, or false.  A user with no record
-- (no connection anywhere) gets none.
local uk = P .. 'user:' .. ARGV[1]
if redis.call('EXISTS', uk) == 0 then return false end
local old = redis.call('HGET', uk, 'away')
if ARGV[2] == '' then
  redis.call('HDEL', uk, 'away')
else
  redis.call('HSET', uk, 'away', ARGV[2])
end
return old
