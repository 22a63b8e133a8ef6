-- A conversation stored before conversations had lifetimes (its keys never expire) gets the
-- lifetime of its state now, and is made due for the archive so it is copied before Redis lets
-- it go (handoff/conversations/lifetimes.py). One that already expires, or is waiting for or
-- held by a person (never expires on purpose), is left as it is.
-- KEYS[1] conversation hash, KEYS[2] log stream, KEYS[3] seen hash, KEYS[4] archive due zset
-- ARGV[1] conversation id, ARGV[2] default lifetime (s), ARGV[3] closed retention (s),
-- ARGV[4] now (ms)
-- Returns 1 when the conversation was given its lifetime, 0 when it was left as it was.
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('TTL', KEYS[1]) ~= -1 then
  return 0
end
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'queued' or state == 'assigned' then
  return 0
end
keep_conversation(
  {KEYS[1], KEYS[2], KEYS[3]}, state, limit_of(KEYS[1], 'lifetime', ARGV[2]), tonumber(ARGV[3])
)
archive_due(KEYS[4], ARGV[1], ARGV[4])
return 1
