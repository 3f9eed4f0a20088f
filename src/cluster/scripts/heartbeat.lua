-- KEYS: nodes zset. ARGV: this node, dead-after ms, then the dead nodes this node is cleaning
-- up after. Records the beat, and one for each of those: a cleanup stays claimed while its node
-- beats for it, and falls to another node once it stops (that node died or stopped mid-way).
-- Returns the nodes silent for too long, every node with its last beat (id, ms, id, ms, ...),
-- and 1 when this node was not in the set (its first beat; or, later, another node took it for
-- dead and cleaned up after it), else 0.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now, ARGV[1])
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now, ARGV[i]) end
return { redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2])), redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES'), added }
