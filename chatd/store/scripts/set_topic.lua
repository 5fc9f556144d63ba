-- Store a room's topic, creating its record (named ARGV[2]) if needed.
--
-- KEYS: 1 room record, 2 cluster record, 3 stored rooms
-- ARGV: 1 room key, 2 display name, 3 topic, 4 topic_by, 5 the epoch the node knows,
--   6 a new epoch (if one is needed)
-- Returns the epoch the node must learn, or nil.

local learn = make_room(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[5], ARGV[6])
redis.call('HSET', KEYS[1], 'topic', ARGV[3], 'topic_by', ARGV[4])
return learn
