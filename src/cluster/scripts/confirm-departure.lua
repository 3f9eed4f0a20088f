-- KEYS: the marker. ARGV: node. 1 when nothing came back since that node saw the departure.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
