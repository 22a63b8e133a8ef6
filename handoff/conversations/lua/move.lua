-- Move a conversation between states atomically, with its queue and agent bookkeeping, a
-- system event in the transcript and the lifetime of its new state (lifetime.lua). Every state
-- change of the service goes through here.
-- KEYS[1] conversation hash, KEYS[2] log stream, KEYS[3] seen hash,
-- KEYS[4] queue the conversation may be leaving, KEYS[5] queue it enters (or a none key),
-- KEYS[6] chats of the agent it may be leaving, KEYS[7] chats of the agent it goes to (or none),
-- KEYS[8] pending zset (conversations with customer messages for the bot),
-- KEYS[9] archive due zset
-- ARGV[1] conversation id, ARGV[2] allowed current states (comma separated),
-- ARGV[3] new state, ARGV[4] expected current agent ('' = whoever it is, '-' = nobody),
-- ARGV[5] new agent ('' = none), ARGV[6] capacity of the new agent (0 = unchecked),
-- ARGV[7] queue score ('' = not queued), ARGV[8] now (ms), ARGV[9] live channel,
-- ARGV[10] expected team (the team whose queue KEYS[4] is),
-- ARGV[11] '1' when the bot answers only what comes after this move (its cursor moves to the
-- move's event and nothing is pending), else '',
-- ARGV[12] default lifetime (s), ARGV[13] closed retention (s), ARGV[14] default transcript
-- bound (entries), ARGV[15] number n of conversation fields that follow as pairs, then the
-- event's pairs.
-- Returns {'ok', stream id} or {'state', current state, current agent, current team} or
-- {'full', count} or {'missing'}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local state = redis.call('HGET', KEYS[1], 'state') or ''
local agent = redis.call('HGET', KEYS[1], 'agent') or ''
local team = redis.call('HGET', KEYS[1], 'team') or ''
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if s == state then allowed = true end
end
local expected_agent = ARGV[4]
if expected_agent == '-' then expected_agent = '' end
-- The caller named the queue keys from the team it read: another team now means other keys.
if not allowed or (ARGV[4] ~= '' and agent ~= expected_agent) or team ~= ARGV[10] then
  return {'state', state, agent, team}
end
local new_agent = ARGV[5]
local capacity = tonumber(ARGV[6])
if new_agent ~= '' and capacity > 0 and new_agent ~= agent then
  local load = redis.call('SCARD', KEYS[7])
  if load >= capacity then
    return {'full', tostring(load)}
  end
end
redis.call('ZREM', KEYS[4], ARGV[1])
if agent ~= '' and agent ~= new_agent then
  redis.call('SREM', KEYS[6], ARGV[1])
end
if ARGV[7] ~= '' then
  redis.call('ZADD', KEYS[5], tonumber(ARGV[7]), ARGV[1])
end
if new_agent ~= '' then
  redis.call('SADD', KEYS[7], ARGV[1])
  redis.call('HSET', KEYS[1], 'agent', new_agent)
else
  redis.call('HDEL', KEYS[1], 'agent')
end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'updated_at', ARGV[8])
local n = tonumber(ARGV[15])
local i = 16
for _ = 1, n do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
local first_field = i
local fields = {}
while i <= #ARGV do
  fields[#fields + 1] = ARGV[i]
  i = i + 1
end
local bound = limit_of(KEYS[1], 'max_entries', ARGV[14])
local previous = previous_entry(KEYS[2])
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', bound, '*', unpack(fields))
redis.call('HSET', KEYS[1], 'last_id', id)
if ARGV[11] == '1' then
  -- What the customer wrote up to now was for a person, however late it arrived.
  redis.call('HSET', KEYS[1], 'bot_cursor', id)
  redis.call('ZREM', KEYS[8], ARGV[1])
end
keep_conversation(
  {KEYS[1], KEYS[2], KEYS[3]}, ARGV[3], limit_of(KEYS[1], 'lifetime', ARGV[12]),
  tonumber(ARGV[13])
)
archive_due(KEYS[9], ARGV[1], ARGV[8])
publish_entry(ARGV[9], ARGV[1], previous, id, ARGV, first_field, {state = ARGV[3]})
return {'ok', id}
