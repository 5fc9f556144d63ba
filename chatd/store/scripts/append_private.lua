-- Keep a private message in an account's stream: ids 1, 2, ... never
-- given out again, even once pruned.
--
-- KEYS: 1 account, 2 its private messages
-- ARGV: 1 ts, 2 nick, 3 to, 4 text, 5 keep
-- Returns the id, or 0 if there is no such account.

local last = redis.call('HGET', KEYS[1], 'last_private')
if not last then
  return 0
end
local id = tonumber(last) + 1
redis.call('XADD', KEYS[2], int(id) .. '-0', 't', ARGV[1], 'nick', ARGV[2], 'to', ARGV[3], 'text', ARGV[4])
redis.call('HSET', KEYS[1], 'last_private', int(id))
trim(KEYS[1], 'privates_pruned_below', KEYS[2], tonumber(ARGV[5]))
return id
