-- KEYS: the user's node set. ARGV: node. 1 when no node holds the user any more.
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 and redis.call('SCARD', KEYS[1]) == 0 then return 1 end
return 0
