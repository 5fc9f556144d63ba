-- Claim a WAMP procedure for one registration of one node: chatd's
-- procedure names are unique across the cluster.
-- KEYS: none (one hash, named by ARGV[1]).
-- ARGV: hash, procedure, node, nonce (this run of the node), registration id, alive-key prefix.
-- Returns 1 if the registration now owns the name, 0 if a live one has it.
-- An owner whose node is dead, or that is a previous run of this very
-- node (same name, other nonce), is stale: the name is taken over.
local hash, procedure, node, nonce, reg, alive = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local current = redis.call('HGET', hash, procedure)
if current then
    local owner, owner_nonce = string.match(current, '^(.-)\n(.-)\n')
    local stale = owner == nil
        or (owner == node and owner_nonce ~= nonce)
        or (owner ~= node and redis.call('EXISTS', alive .. owner) == 0)
    if not stale then
        return 0
    end
end
redis.call('HSET', hash, procedure, node .. '\n' .. nonce .. '\n' .. reg)
return 1
