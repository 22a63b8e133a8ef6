-- Delete a lock only if we still own it (its value is our token).
-- KEYS[1] lock key, ARGV[1] token. Returns 1 when released.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
