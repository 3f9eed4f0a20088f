-- KEYS: the marker, and what the departure emptied (a channel's counts, a user's node set).
-- ARGV: node. 1 when nothing came back since that node saw the departure: the marker is
-- still its own (an arrival deletes it) and what it emptied is still empty (which also
-- holds a marker set again after Redis lost its data to what the other nodes put back).
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if redis.call('EXISTS', KEYS[2]) == 0 then return 1 end
end
return 0
