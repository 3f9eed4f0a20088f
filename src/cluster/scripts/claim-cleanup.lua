-- KEYS: nodes zset. ARGV: a silent node, dead-after ms. Claims the cleanup after it: 1, with a
-- beat recorded for it (heartbeat.lua records the next ones), or 0 when it beat, or another
-- node claimed it, since the heartbeat found it silent.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not last or tonumber(last) > now - tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[1])
return 1
