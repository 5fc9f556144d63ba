-- A new long-poll session (chatd.cluster.polls): its record, owned by the
-- node that made it.  The queue stream appears with the first entry.
-- KEYS: record, queue.  ARGV: owner, ip, now (ms), ttl (ms).
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'ip', ARGV[2], 'created', ARGV[3], 'polled', ARGV[3],
           'held', 0, 'heldby', 0, 'polls', 0, 'seq', 0, 'bytes', 0, 'marker', 0, 'mlen', 0, 'dropped', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
