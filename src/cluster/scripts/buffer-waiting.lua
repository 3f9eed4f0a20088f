-- Counts a channel's kept events that have not expired. KEYS: the buffer list.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local waiting = 0
for _, entry in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if tonumber(string.match(entry, '^%d+')) > now then waiting = waiting + 1 end
end
return waiting
