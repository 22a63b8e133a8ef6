-- Set fields of a conversation that still exists (a write after it expired would bring back a
-- hash of a few fields that never expires), optionally only while one field still holds the
-- value the caller read: a compare-and-set, for a write decided on a read.
-- KEYS[1] conversation hash, KEYS[2] archive due zset
-- ARGV[1] field to compare ('' = none), ARGV[2] the value read ('' = the field was absent),
-- ARGV[3] conversation id, ARGV[4] now (ms), ARGV[5..] field, value pairs
-- Returns 1 when written, 0 when the conversation is gone or the compared field changed.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if ARGV[1] ~= '' and (redis.call('HGET', KEYS[1], ARGV[1]) or '') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
archive_due(KEYS[2], ARGV[3], ARGV[4])
return 1
