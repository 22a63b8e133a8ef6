-- Take an agent offline only if their heartbeat is still older than the cutoff: a console that
-- beat after the sweeper listed the stale heartbeats keeps its agent online and their chats.
-- KEYS[1] heartbeat zset, KEYS[2] presence hash
-- ARGV[1] agent name, ARGV[2] cutoff (ms)
-- Returns 1 when the agent was taken offline, 0 when they beat meanwhile (or another replica's
-- sweeper already dealt with them and forgot the heartbeat).
local beat = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
if beat == nil or beat > tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], 'offline')
return 1
