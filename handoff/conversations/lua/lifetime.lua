-- How long a conversation's keys live, by the state it is in (docs/reliability.md, "How long
-- data lasts"). Every script that writes a conversation starts with this (store.py
-- `conversation_script`), so the rule is applied in the same step as the write.
--   bot            its lifetime from this write on: as long as the customer's resume token
--   queued         no expiry: a customer is waiting for a person
--   assigned       no expiry: an agent holds the chat
--   closed         the closed retention, and never less than its lifetime
-- A conversation carries its lifetime and transcript bound (fields `lifetime`, `max_entries`,
-- set by the gateway from the settings); one stored before it had them gets the defaults.

local function limit_of(conversation, field, default)
  return tonumber(redis.call('HGET', conversation, field)) or tonumber(default)
end

-- Every write makes the conversation due for the archive (handoff/archive/archiver.py), scored
-- by the time of the write: the archiver copies it once it has been quiet for a moment.
local function archive_due(due_key, cid, now)
  redis.call('ZADD', due_key, now, cid)
end

local function keep_conversation(conversation_keys, state, lifetime, closed_retention)
  if state == 'queued' or state == 'assigned' then
    for _, key in ipairs(conversation_keys) do
      redis.call('PERSIST', key)
    end
    return
  end
  local seconds = lifetime
  if state == 'closed' and closed_retention > seconds then
    seconds = closed_retention
  end
  for _, key in ipairs(conversation_keys) do
    redis.call('EXPIRE', key, seconds)
  end
end

