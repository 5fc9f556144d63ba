-- A session ends: its keys go, and a poll held anywhere is answered.
-- KEYS: record, queue.  ARGV: wake channel.
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('PUBLISH', ARGV[1], 'x')
return 1
