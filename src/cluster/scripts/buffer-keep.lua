-- Keeps an event for a vacant channel. KEYS: the channel's subs hash, its buffer list,
-- the app's buffered-channels sorted set. ARGV: channel, frame, ttl ms, maxEvents,
-- the app's channel cap, the buffer key prefix (the same hash tag as KEYS).
-- Returns {0} when the channel is occupied, else {1, expired, over maxEvents, dropped with
-- evicted buffers}. Entries are "<expires at ms>\n<frame>"; Redis's clock decides.
if redis.call('HLEN', KEYS[1]) > 0 then return {0} end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[3])
local expired = 0
while true do
  local head = redis.call('LINDEX', KEYS[2], 0)
  if not head or tonumber(string.match(head, '^%d+')) > now then break end
  redis.call('LPOP', KEYS[2])
  expired = expired + 1
end
redis.call('RPUSH', KEYS[2], (now + ttl) .. '\n' .. ARGV[2])
local over = redis.call('LLEN', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then redis.call('LTRIM', KEYS[2], over, -1) else over = 0 end
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('ZADD', KEYS[3], now, ARGV[1])
-- Buffers expire on their own; their entries go once no TTL (at most 7 days) can still hold them.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 604800000)
redis.call('PEXPIRE', KEYS[3], 604800000)
local evicted = 0
while redis.call('ZCARD', KEYS[3]) > tonumber(ARGV[5]) do
  local oldest = redis.call('ZPOPMIN', KEYS[3])
  local key = ARGV[6] .. oldest[1]
  evicted = evicted + redis.call('LLEN', key)
  redis.call('DEL', key)
end
return {1, expired, over, evicted}
