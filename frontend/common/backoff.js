// Reconnect delays: doubling from `min` to `max`, each wait drawn between half and all of the
// current delay ("equal jitter"), so that a thousand clients cut off by one restart do not all
// come back in the same millisecond, yet none waits longer than the delay it shows.

/**
 * @typedef {{min: number, max: number}} BackoffLimits
 */

/**
 * The delay after `previous` (0 or less: the first attempt).
 * @param {number} previous
 * @param {BackoffLimits} limits
 * @returns {number}
 */
export function nextDelay(previous, limits) {
  if (!(previous > 0)) return limits.min;
  return Math.min(limits.max, Math.max(limits.min, previous * 2));
}

/**
 * How long to actually wait for `delay`: between half of it and all of it.
 * @param {number} delay
 * @param {() => number} [random]
 * @returns {number}
 */
export function jittered(delay, random = Math.random) {
  return delay * (0.5 + random() * 0.5);
}
