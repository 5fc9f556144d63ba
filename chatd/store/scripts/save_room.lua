-- Create or update a room's record: name, topic, topic_by and settings
-- (its ids are the store's own).
--
-- KEYS: 1 room record, 2 cluster record, 3 stored rooms
-- ARGV: 1 room key, 2 name, 3 topic, 4 topic_by, 5 settings (JSON), 6 the epoch the node
--   knows, 7 a new epoch (if one is needed)
-- Returns the epoch the node must learn, or nil.

local learn = make_room(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[6], ARGV[7])
redis.call('HSET', KEYS[1], 'name', ARGV[2], 'topic', ARGV[3], 'topic_by', ARGV[4], 'settings', ARGV[5])
return learn
