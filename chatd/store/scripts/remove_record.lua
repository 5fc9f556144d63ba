-- Lift a ban or a room mark.
--
-- KEYS: 1 the hash, 2 expiry index
-- ARGV: 1 field
-- Returns 1 if there was one, else 0.

redis.call('ZREM', KEYS[2], KEYS[1] .. '\n' .. ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
