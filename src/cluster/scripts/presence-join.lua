-- KEYS: members hash, the user's node set, the user's leaving marker, answer key. ARGV: user,
-- user_info JSON, max members, node, answer TTL. Returns {-1} when the channel is full, else
-- {added, members...}: added is 1 for a user new to the channel (also left under the answer
-- key when its TTL is not 0, for a write whose answer does not come: redis-departures.ts),
-- 2 for one back within the hold (subscribers hear it, webhooks do not), 0 otherwise.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return {-1} end
local added = 0
if redis.call('SADD', KEYS[2], ARGV[4]) == 1 and redis.call('SCARD', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  added = 1
  if redis.call('DEL', KEYS[3]) == 1 then added = 2 elseif tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[4], '1', 'PX', ARGV[5]) end
end
return {added, redis.call('HGETALL', KEYS[1])}
