-- Takes a channel's kept events and empties its buffer. KEYS: the buffer list, the app's
-- buffered-channels sorted set. ARGV: channel. Returns {expired, frame, frame, ...}, oldest first.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
if #entries == 0 then return {0} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local result = {0}
for _, entry in ipairs(entries) do
  local cut = string.find(entry, '\n', 1, true)
  if tonumber(string.sub(entry, 1, cut - 1)) > now then
    result[#result + 1] = string.sub(entry, cut + 1)
  else
    result[1] = result[1] + 1
  end
end
return result
