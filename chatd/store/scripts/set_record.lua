-- Keep a ban or a room mark, replacing the one with the same field: set
-- again, it is set now, last in the setting order.  Those with an end
-- are in an expiry index, for pruning.
--
-- KEYS: 1 the hash (a scope's bans, a room's marks), 2 expiry index, 3 sequence counter
-- ARGV: 1 field, 2 the record (JSON), 3 until ("" for ever)
-- The index's members are "<hash>\n<field>".

local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], int(seq) .. ' ' .. ARGV[2])
local member = KEYS[1] .. '\n' .. ARGV[1]
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[2], member)
else
  redis.call('ZADD', KEYS[2], ARGV[3], member)
end
return 1
