-- KEYS: members hash, the user's node set, the leaving marker, answer key. ARGV: user, node,
-- marker TTL (0 for an app nobody hears: no departure to confirm, no marker), answer TTL (not 0
-- for a dead node's member: a 1 is then also left under the answer key, which the cleanup that
-- deletes it reports: redis-departures.ts, deadNodeAnswerKey).
-- 0 while the user is still on another node. Else 1 when Redis held the user there from
-- this node: a departure, held, then reported. 2 when it did not (the user came while
-- Redis was away and leaves before the node wrote it again): the subscribers hear it,
-- and nothing is reported, as the arrival was not.
local removed = redis.call('SREM', KEYS[2], ARGV[2])
if redis.call('SCARD', KEYS[2]) ~= 0 then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if removed == 0 then return 2 end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3]) end
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[4], '1', 'PX', ARGV[4]) end
return 1
