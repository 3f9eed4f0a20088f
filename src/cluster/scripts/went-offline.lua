-- KEYS: the user's node set. ARGV: node. 0 while another node holds the user. Else 1 when
-- Redis held the user from this node, 2 when it did not (the user signed in while Redis was
-- away and leaves before the node wrote it again): its watchers hear it go either way.
local removed = redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('SCARD', KEYS[1]) ~= 0 then return 0 end
if removed == 0 then return 2 end
return 1
