-- KEYS: the marker, what the departure emptied (a channel's counts, a user's node set), and
-- this confirmation's answer key. ARGV: node, answer TTL. 1 when nothing came back since
-- that node saw the departure: the marker is still its own (an arrival deletes it) and what
-- it emptied is still empty (which also holds a marker set again after Redis lost its data
-- to what the other nodes put back). The answer key keeps that 1 for a confirmation sent
-- again because its answer did not come: the marker is gone by then.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if redis.call('EXISTS', KEYS[2]) == 0 then
    redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
    return 1
  end
  return 0
end
return redis.call('DEL', KEYS[3])
