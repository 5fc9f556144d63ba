-- Give a nick to a user: ARGV uid, nick, key, look, take, node, hosts,
-- account, account_name, ttl_ms.  Answers {'ok'}, or {'taken', nick} /
-- {'look', nick} naming who holds the nick or one that looks like it.
local uid, nick, key, look, take, node, hosts, acct, acct_name, ttl =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local nk, lk = P .. 'nick-holder:' .. key, P .. 'look-holder:' .. look
if take ~= '1' then
  local holder = redis.call('GET', nk)
  if holder and holder ~= uid then
    return {'taken', redis.call('HGET', P .. 'user:' .. holder, 'nick') or key}
  end
  holder = redis.call('GET', lk)
  if holder and holder ~= uid then
    return {'look', redis.call('HGET', P .. 'user:' .. holder, 'nick') or look}
  end
end
local uk = P .. 'user:' .. uid
local old = redis.call('HMGET', uk, 'key', 'look')
if old[1] and old[1] ~= key and redis.call('GET', P .. 'nick-holder:' .. old[1]) == uid then
  redis.call('DEL', P .. 'nick-holder:' .. old[1])
end
if old[2] and old[2] ~= look and redis.call('GET', P .. 'look-holder:' .. old[2]) == uid then
  redis.call('DEL', P .. 'look-holder:' .. old[2])
end
redis.call('SET', nk, uid, 'PX', ttl)
redis.call('SET', lk, uid, 'PX', ttl)
redis.call('HSET', uk, 'nick', nick, 'key', key, 'look', look, 'account', acct, 'account_name', acct_name,
           '@' .. node, hosts)
redis.call('PEXPIRE', uk, ttl)
redis.call('SADD', P .. 'node-users:' .. node, uid)
for _, room in ipairs(redis.call('SMEMBERS', P .. 'user-rooms:' .. uid)) do
  local mk = P .. 'members:' .. room
  local v = redis.call('HGET', mk, uid)
  if v then
    local _, a, nodes = split_member(v)
    redis.call('HSET', mk, uid, join_member(nick, a, nodes))
  end
end
return {'ok'}
