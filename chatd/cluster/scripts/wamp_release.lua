-- Give a WAMP procedure's name back, if this registration still owns it.
-- ARGV: hash, procedure, owner value (node, nonce and registration id, as claimed).
if redis.call('HGET', ARGV[1], ARGV[2]) == ARGV[3] then
    redis.call('HDEL', ARGV[1], ARGV[2])
    return 1
end
return 0
