-- Delete an account with its look, tokens, roles, private messages, read
-- markers and preferences.
-- Its bans and room marks stay: they outlive their target.
--
-- KEYS: 1 account, 2 accounts, 3 private messages, 4 its tokens, 5 its rooms with a role,
--   6 token expiry index, 7 read markers, 8 preferences
-- ARGV: 1 key, 2 look prefix, 3 token prefix, 4 roles prefix

local look = redis.call('HGET', KEYS[1], 'look')
if look then
  redis.call('DEL', ARGV[2] .. look)
end
for _, digest in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  redis.call('DEL', ARGV[3] .. digest)
  redis.call('ZREM', KEYS[6], digest)
end
for _, room in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  redis.call('HDEL', ARGV[4] .. room, ARGV[1])
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5], KEYS[7], KEYS[8])
redis.call('SREM', KEYS[2], ARGV[1])
return 1
