-- KEYS: the user's node set. ARGV: node. 1 when this node is the first to hold the user.
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 1 then return 1 end
return 0
