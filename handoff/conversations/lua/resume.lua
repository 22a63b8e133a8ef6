-- Keep a conversation at least `lifetime` after each write from now on and from now
-- (lifetime.lua), and return it: a customer coming back with a fresh resume token, a ticket that
-- must stay answerable (handoff/queue/tickets.py), a follow-up that must find its chat. The
-- stored lifetime is only ever raised: a customer's reload never shortens a ticket's.
-- KEYS[1] conversation hash, KEYS[2] log stream, KEYS[3] seen hash
-- ARGV[1] the lifetime asked for (s), ARGV[2] closed retention (s)
-- Returns the conversation's fields and values, or nothing when there is no such conversation.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
local lifetime = math.max(tonumber(ARGV[1]), limit_of(KEYS[1], 'lifetime', ARGV[1]))
redis.call('HSET', KEYS[1], 'lifetime', lifetime)
keep_conversation(
  {KEYS[1], KEYS[2], KEYS[3]}, redis.call('HGET', KEYS[1], 'state'), lifetime, tonumber(ARGV[2])
)
return redis.call('HGETALL', KEYS[1])
