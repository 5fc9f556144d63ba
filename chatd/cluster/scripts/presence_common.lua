-- Put in front of every presence script (chatd/cluster/presence.py).
-- A room member is kept as "nick\naccount\nnode node ..." (nicks, account
-- keys and node names hold no spaces or newlines).
local P = 'chatd:'

local function split_member(v)
  local nick, acct, rest = string.match(v, '^([^\n]*)\n([^\n]*)\n(.*)$')
  local nodes = {}
  for n in string.gmatch(rest or '', '%S+') do
    nodes[#nodes + 1] = n
  end
  return nick or '', acct or '', nodes
end

local function join_member(nick, acct, nodes)
  return nick .. '\n' .. acct .. '\n' .. table.concat(nodes, ' ')
end

local function has(list, x)
  for _, n in ipairs(list) do
    if n == x then return true end
  end
  return false
end

local function without(list, x)
  local out = {}
  for _, n in ipairs(list) do
    if n ~= x then out[#out + 1] = n end
  end
  return out
end

-- Free a user's nick and look keys if they are still its own.
local function free_names(uid, uk)
  local names = redis.call('HMGET', uk, 'key', 'look')
  if names[1] and redis.call('GET', P .. 'nick-holder:' .. names[1]) == uid then
    redis.call('DEL', P .. 'nick-holder:' .. names[1])
  end
  if names[2] and redis.call('GET', P .. 'look-holder:' .. names[2]) == uid then
    redis.call('DEL', P .. 'look-holder:' .. names[2])
  end
end

-- This node has no connection of the user left: forget it here, and
-- everywhere if no node has one.  Returns 1 if the user is gone.
local function release(uid, node)
  local uk = P .. 'user:' .. uid
  redis.call('HDEL', uk, '@' .. node)
  redis.call('SREM', P .. 'node-users:' .. node, uid)
  for _, f in ipairs(redis.call('HKEYS', uk)) do
    if string.sub(f, 1, 1) == '@' then return 0 end
  end
  free_names(uid, uk)
  redis.call('DEL', uk, P .. 'user-rooms:' .. uid)
  return 1
end
