-- The account's list of sessions ({p}:agent:{name}:sessions) is how "log out everywhere", a
-- password change and removing the account find the sessions to end, so a live session must
-- always be on it and the list must live at least as long as the longest session on it: a list
-- that expired before a session still in use would leave that session (perhaps a stolen cookie)
-- beyond their reach. Every script that writes or slides a session starts with this
-- (sessions.py `session_script`), so the list is kept in the same step.

local function keep_listed(list, sid, ttl_seconds)
  -- Listing again is a no-op for a listed session, and lists again one whose list was lost.
  redis.call('SADD', list, sid)
  local wanted = tonumber(ttl_seconds) * 1000
  -- Never shortened: another session on the list may have been given longer (a longer
  -- AGENT_SESSION_TTL_SECONDS on another replica, or before a restart).
  if redis.call('PTTL', list) < wanted then
    redis.call('PEXPIRE', list, wanted)
  end
end
