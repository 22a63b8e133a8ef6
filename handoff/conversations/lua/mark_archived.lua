-- A conversation was copied to the archive up to an entry: remember that entry, and take the
-- conversation off the due set unless it was written to after the copy began.
-- KEYS[1] conversation hash, KEYS[2] archive due zset
-- ARGV[1] conversation id, ARGV[2] last archived entry id ('' when none), ARGV[3] due score seen
if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'archived_id', ARGV[2])
end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[3]) then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
return 0
