-- KEYS: subs hash, occupied set, vacating marker, answer key. ARGV: node, its count, channel,
-- marker TTL, answer TTL. Returns 1 occupied, -1 vacated, 0 neither. Either transition is also
-- left under the answer key when its TTL is not 0: an arrival, for a write whose answer does
-- not come (redis-departures.ts); a dead node's departure, for its cleanup (redis-departures.ts,
-- deadNodeAnswerKey). A vacancy sets the marker when its TTL is not 0 (an app nobody hears has
-- no departure to confirm).
local before = redis.call('HLEN', KEYS[1])
if tonumber(ARGV[2]) > 0 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) else redis.call('HDEL', KEYS[1], ARGV[1]) end
local after = redis.call('HLEN', KEYS[1])
if before == 0 and after > 0 then
  redis.call('SADD', KEYS[2], ARGV[3])
  if redis.call('DEL', KEYS[3]) == 1 then return 0 end
  if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[4], '1', 'PX', ARGV[5]) end
  return 1
end
if before > 0 and after == 0 then
  redis.call('SREM', KEYS[2], ARGV[3])
  if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[4]) end
  if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[4], '1', 'PX', ARGV[5]) end
  return -1
end
return 0
