-- Extend a lock's lifetime only if we still own it (its value is our token).
-- KEYS[1] lock key, ARGV[1] token, ARGV[2] seconds. Returns 1 when extended.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 0
