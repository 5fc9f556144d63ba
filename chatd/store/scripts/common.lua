-- Put in front of every chatd store script (chatd/store/redis_scripts.py).
-- Ids are whole numbers kept as text; Lua numbers are doubles, exact to 2^53.

local function int(n)
  return string.format('%.0f', n)
end

-- The number of a stream entry id "<id>-0".
local function entry_id(eid)
  return tonumber(string.sub(eid, 1, -3))
end

-- Make a room's record if it is not there, at the cluster's floor, so
-- that a room made again after Redis lost its data never gives out an id
-- it gave out before.  The cluster record missing, or naming another
-- epoch than the node knows, means Redis lost its data: ids start again
-- above the current time in milliseconds.  Returns the cluster's epoch
-- when the node must learn it, else nil.
local function make_room(meta, cluster, rooms, key, name, known, candidate)
  if redis.call('EXISTS', meta) == 1 then
    return nil
  end
  local found = redis.call('HMGET', cluster, 'epoch', 'floor')
  local epoch, floor, learn = found[1], tonumber(found[2]), nil
  if not epoch or epoch ~= known then
    local t = redis.call('TIME')
    local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    if not epoch then
      epoch, floor = candidate, now_ms
    elseif floor < now_ms then
      floor = now_ms
    end
    redis.call('HSET', cluster, 'epoch', epoch, 'floor', int(floor))
    learn = epoch
  end
  local pruned_below = 0
  if floor > 0 then
    pruned_below = floor + 1
  end
  redis.call('HSET', meta, 'name', name, 'topic', '', 'topic_by', '', 'settings', '{}',
             'last', int(floor), 'pruned_below', int(pruned_below), 'epoch', epoch)
  redis.call('SADD', rooms, key)
  return learn
end

-- Retention by count: delete the oldest entries of a stream beyond
-- `keep`, and remember below which id its owner's entries may be gone.
-- Returns how many went and (if any did) that id.
local function trim(owner, field, stream, keep)
  local over = redis.call('XLEN', stream) - keep
  if over <= 0 then
    return 0
  end
  local oldest = redis.call('XRANGE', stream, '-', '+', 'COUNT', over)
  local bound = entry_id(oldest[#oldest][1]) + 1
  redis.call('XTRIM', stream, 'MINID', int(bound))
  redis.call('HSET', owner, field, int(bound))
  return over, bound
end

-- A room's reactions aimed at messages below `bound` are of no use once
-- those messages are pruned: forget them from the room's index.
local function forget_reactions(index, bound)
  redis.call('ZREMRANGEBYSCORE', index, '-inf', '(' .. int(bound))
end
