-- Which node holds a session, for a command or a DELETE landing elsewhere:
-- an owner that is not alive loses the session (its keys go).
-- KEYS: record, queue.  ARGV: this node, the alive key prefix.
-- Returns {0} no such session; {1, owner} lost; {2, owner}.
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then
  return {0}
end
if owner ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. owner) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return {1, owner}
end
return {2, owner}
