-- KEYS: members hash, the user's node set, the leaving marker. ARGV: user, node, marker TTL. 1 when the user left the channel on every node. */
redis.call('SREM', KEYS[2], ARGV[2])
if redis.call('SCARD', KEYS[2]) == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
