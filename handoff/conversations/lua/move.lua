-- Move a conversation between states atomically, with its queue and agent bookkeeping and a
-- system event in the transcript. Every state change of the service goes through here.
-- KEYS[1] conversation hash, KEYS[2] log stream,
-- KEYS[3] queue the conversation may be leaving, KEYS[4] queue it enters (or a none key),
-- KEYS[5] chats of the agent it may be leaving, KEYS[6] chats of the agent it goes to (or none)
-- ARGV[1] conversation id, ARGV[2] allowed current states (comma separated),
-- ARGV[3] new state, ARGV[4] expected current agent ('' = whoever it is, '-' = nobody),
-- ARGV[5] new agent ('' = none), ARGV[6] capacity of the new agent (0 = unchecked),
-- ARGV[7] queue score ('' = not queued), ARGV[8] now (ms), ARGV[9] live channel,
-- ARGV[10] number n of conversation fields that follow as pairs, then the event's pairs.
-- Returns {'ok', stream id} or {'state', current state, current agent} or {'full', count}
-- or {'missing'}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'missing'}
end
local state = redis.call('HGET', KEYS[1], 'state') or ''
local agent = redis.call('HGET', KEYS[1], 'agent') or ''
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do
  if s == state then allowed = true end
end
local expected_agent = ARGV[4]
if expected_agent == '-' then expected_agent = '' end
if not allowed or (ARGV[4] ~= '' and agent ~= expected_agent) then
  return {'state', state, agent}
end
local new_agent = ARGV[5]
local capacity = tonumber(ARGV[6])
if new_agent ~= '' and capacity > 0 and new_agent ~= agent then
  local load = redis.call('SCARD', KEYS[6])
  if load >= capacity then
    return {'full', tostring(load)}
  end
end
redis.call('ZREM', KEYS[3], ARGV[1])
if agent ~= '' and agent ~= new_agent then
  redis.call('SREM', KEYS[5], ARGV[1])
end
if ARGV[7] ~= '' then
  redis.call('ZADD', KEYS[4], tonumber(ARGV[7]), ARGV[1])
end
if new_agent ~= '' then
  redis.call('SADD', KEYS[6], ARGV[1])
  redis.call('HSET', KEYS[1], 'agent', new_agent)
else
  redis.call('HDEL', KEYS[1], 'agent')
end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'updated_at', ARGV[8])
local n = tonumber(ARGV[10])
local i = 11
for _ = 1, n do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
local fields = {}
while i <= #ARGV do
  fields[#fields + 1] = ARGV[i]
  i = i + 1
end
local id = redis.call('XADD', KEYS[2], '*', unpack(fields))
redis.call('HSET', KEYS[1], 'last_id', id)
redis.call('PUBLISH', ARGV[9], '{"c":"' .. ARGV[1] .. '","state":"' .. ARGV[3] .. '"}')
return {'ok', id}
