-- Append one entry to a conversation's transcript exactly once, and keep the conversation for
-- as long as its state says (lifetime.lua), counting from this write.
-- KEYS[1] log stream, KEYS[2] seen hash (client id -> stream id), KEYS[3] conversation hash,
-- KEYS[4] pending zset (customer messages the bot has to answer: only in state 'bot'),
-- KEYS[5] archive due zset, KEYS[6] the sender's rate counter (only with ARGV[8])
-- ARGV[1] client message id ('' when the entry has none), ARGV[2] now (ms),
-- ARGV[3] conversation id, ARGV[4] live channel, ARGV[5] default lifetime (s),
-- ARGV[6] closed retention (s), ARGV[7] default transcript bound (entries),
-- ARGV[8] the most messages the counter allows ('' = not counted: no KEYS[6]), ARGV[9] the
-- counter's lifetime (s), ARGV[10..] field, value pairs
-- Returns {stream id, 1, state} when appended, {stream id, 0, state} when the client id was
-- already stored (state: the conversation's), {'', -1} when the conversation does not exist.
-- A counted message (a customer's, from the widget) is refused, unstored, with {'', -2} when
-- the chat is closed and {'', -3} when the counter is over its limit; the chat is checked
-- first, and a refused one is not counted. A customer's message is thus one round trip: the
-- checks and the write, in one step.
-- An agent's message appended returns instead the response clock it stopped
-- (handoff/queue/targets.py): {stream id, 1, 'first' | 'next', since
-- (ms), priority}, or {stream id, 1, ''} when the customer was waiting for no reply.
-- The clocks are kept here, in the same step as the message, so that two replicas (or two tabs
-- of one agent) never both count one reply as the answer to the same wait.
if redis.call('EXISTS', KEYS[3]) == 0 then
  return {'', -1}
end
local state = redis.call('HGET', KEYS[3], 'state') or ''
if ARGV[8] ~= '' then
  if state == 'closed' then
    return {'', -2}
  end
  local sent = redis.call('INCR', KEYS[6])
  redis.call('EXPIRE', KEYS[6], ARGV[9])
  if sent > tonumber(ARGV[8]) then
    return {'', -3}
  end
end
local client_id = ARGV[1]
if client_id ~= '' then
  local existing = redis.call('HGET', KEYS[2], client_id)
  if existing then
    return {existing, 0, state}
  end
end
local fields = {}
for i = 10, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local bound = limit_of(KEYS[3], 'max_entries', ARGV[7])
local previous = previous_entry(KEYS[1])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', bound, '*', unpack(fields))
if client_id ~= '' then
  redis.call('HSET', KEYS[2], client_id, id)
end
redis.call('HSET', KEYS[3], 'updated_at', ARGV[2], 'last_id', id)
local sender = nil
local channel = nil
for i = 10, #ARGV, 2 do
  if ARGV[i] == 'from' then sender = ARGV[i + 1] end
  if ARGV[i] == 'channel' then channel = ARGV[i + 1] end
end
local answered = nil
if sender == 'customer' then
  redis.call('HSET', KEYS[3], 'last_customer_at', ARGV[2])
  -- The next-response clock starts at the oldest message not yet answered by the agent.
  if state == 'assigned' then
    redis.call('HSETNX', KEYS[3], 'awaiting_since', ARGV[2])
  end
  -- Outside 'bot' a message is for a person: the bot-turn sweeper has nothing to do for it.
  -- So is one that came by email or was left with a ticket: its answer could never reach the
  -- customer in the widget (turns.py `for_the_assistant`).
  if state == 'bot' and (channel == nil or channel == 'widget') then
    redis.call('ZADD', KEYS[4], 'NX', ARGV[2], ARGV[3])
  end
end
if sender == 'agent' then
  local queued_at = redis.call('HGET', KEYS[3], 'queued_at')
  local awaiting = redis.call('HGET', KEYS[3], 'awaiting_since')
  local priority = redis.call('HGET', KEYS[3], 'priority') or '5'
  redis.call('HDEL', KEYS[3], 'awaiting_since')
  if queued_at and queued_at ~= redis.call('HGET', KEYS[3], 'answered_queued_at') then
    redis.call('HSET', KEYS[3], 'answered_queued_at', queued_at)
    answered = {'first', queued_at, priority}
  elseif awaiting and tonumber(awaiting) > tonumber(queued_at or '0') then
    answered = {'next', awaiting, priority}
  else
    answered = {''}
  end
end
keep_conversation(
  {KEYS[3], KEYS[1], KEYS[2]}, state, limit_of(KEYS[3], 'lifetime', ARGV[5]), tonumber(ARGV[6])
)
archive_due(KEYS[5], ARGV[3], ARGV[2])
publish_entry(ARGV[4], ARGV[3], previous, id, ARGV, 10, {})
if answered then
  return {id, 1, unpack(answered)}
end
return {id, 1, state}
