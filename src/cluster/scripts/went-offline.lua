-- KEYS: the user's node set, answer key. ARGV: node, answer TTL (not 0 for a dead node's user:
-- a 1 is then also left under the answer key, which the cleanup that deletes it reports:
-- redis-departures.ts, deadNodeAnswerKey). 0 while another node holds the user. Else 1 when
-- Redis held the user from this node, 2 when it did not (the user signed in while Redis was
-- away and leaves before the node wrote it again): its watchers hear it go either way.
local removed = redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('SCARD', KEYS[1]) ~= 0 then return 0 end
if removed == 0 then return 2 end
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[2], '1', 'PX', ARGV[2]) end
return 1
