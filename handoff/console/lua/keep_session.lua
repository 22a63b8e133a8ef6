-- A session in use stays alive (sliding expiry), and so does the account's list of sessions,
-- so that ending every session still finds this one.
-- KEYS[1] the session's hash, KEYS[2] the account's list of sessions; ARGV[1] the session id,
-- ARGV[2] the session's lifetime in seconds.
-- Returns 1 when kept, 0 when the session has ended meanwhile (nothing is written then).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
keep_listed(KEYS[2], ARGV[1], ARGV[2])
return 1
