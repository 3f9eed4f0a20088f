-- KEYS: nodes zset. ARGV: this node, dead-after ms. Records the beat; returns the nodes silent
-- for too long, and every node with its last beat (id, ms, id, ms, ...).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
return { redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2])), redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES') }
