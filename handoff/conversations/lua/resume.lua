-- A customer comes back to their conversation with a fresh resume token: keep the conversation
-- at least as long as that token (lifetime.lua), and return it.
-- KEYS[1] conversation hash, KEYS[2] log stream, KEYS[3] seen hash
-- ARGV[1] lifetime of the new token (s), ARGV[2] closed retention (s)
-- Returns the conversation's fields and values, or nothing when there is no such conversation.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
redis.call('HSET', KEYS[1], 'lifetime', ARGV[1])
keep_conversation(
  {KEYS[1], KEYS[2], KEYS[3]}, redis.call('HGET', KEYS[1], 'state'), tonumber(ARGV[1]),
  tonumber(ARGV[2])
)
return redis.call('HGETALL', KEYS[1])
