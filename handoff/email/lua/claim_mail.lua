-- Take the emails whose next attempt is due, holding each for a lease so that no other
-- replica sends it meanwhile; a replica that dies mid-send lets the lease run out, and the
-- email is tried again (at least once, never twice at the same time).
-- KEYS[1] due zset (mail id -> when its next attempt is due, ms)
-- ARGV[1] now (ms), ARGV[2] lease end (ms), ARGV[3] how many at most
-- Returns the mail ids taken.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], id)
end
return due
