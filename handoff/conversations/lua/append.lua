-- Append one entry to a conversation's transcript exactly once.
-- KEYS[1] log stream, KEYS[2] seen hash (client id -> stream id), KEYS[3] conversation hash,
-- KEYS[4] pending zset (customer messages the bot has to answer: only in state 'bot')
-- ARGV[1] client message id ('' when the entry has none), ARGV[2] dedup ttl seconds,
-- ARGV[3] now (ms), ARGV[4] conversation id, ARGV[5] live channel, ARGV[6..] field, value pairs
-- Returns {stream id, 1} when appended, {stream id, 0} when the client id was already stored,
-- {'', -1} when the conversation does not exist.
if redis.call('EXISTS', KEYS[3]) == 0 then
  return {'', -1}
end
local client_id = ARGV[1]
if client_id ~= '' then
  local existing = redis.call('HGET', KEYS[2], client_id)
  if existing then
    return {existing, 0}
  end
end
local fields = {}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
if client_id ~= '' then
  redis.call('HSET', KEYS[2], client_id, id)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2]))
end
redis.call('HSET', KEYS[3], 'updated_at', ARGV[3], 'last_id', id)
local sender = nil
for i = 6, #ARGV, 2 do
  if ARGV[i] == 'from' then sender = ARGV[i + 1] end
end
if sender == 'customer' then
  redis.call('HSET', KEYS[3], 'last_customer_at', ARGV[3])
  -- Outside 'bot' a message is for a person: the bot-turn sweeper has nothing to do for it.
  if redis.call('HGET', KEYS[3], 'state') == 'bot' then
    redis.call('ZADD', KEYS[4], 'NX', ARGV[3], ARGV[4])
  end
end
redis.call('PUBLISH', ARGV[5], '{"c":"' .. ARGV[4] .. '"}')
return {id, 1}
