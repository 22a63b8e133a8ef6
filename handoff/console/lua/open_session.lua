-- Open a console session, but only while the account's password is still the one the login
-- checked: a password change (or the account's removal) landing between the check and this
-- write refuses the login instead of leaving it a session the change was meant to rule out.
-- KEYS[1] the account's hash, KEYS[2] the new session's hash, KEYS[3] the account's list of
-- sessions; ARGV[1] the stored password hash the login verified, ARGV[2] the session id,
-- ARGV[3] the session's lifetime in seconds, ARGV[4..] the session's fields and values.
-- Returns 1 when opened, 0 when refused.
if redis.call('HGET', KEYS[1], 'password') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[2], ARGV[3])
keep_listed(KEYS[3], ARGV[2], ARGV[3])
return 1
