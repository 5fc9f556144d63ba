-- Every room with members: {key, name, members, topic, ...}.
local out = {}
local live = redis.call('HGETALL', P .. 'live-rooms')
for i = 1, #live, 2 do
  local key = live[i]
  local count = redis.call('HLEN', P .. 'members:' .. key)
  if count > 0 then
    out[#out + 1] = key
    out[#out + 1] = live[i + 1]
    out[#out + 1] = count
    out[#out + 1] = redis.call('HGET', P .. 'room:' .. key, 'topic') or ''
  end
end
return out
