// Reconnect delays: doubling from `min` to `max`, with up to a fifth of random spread so that a
// thousand clients cut off by one restart do not all come back in the same millisecond.

/**
 * @typedef {{min: number, max: number, jitter?: number}} BackoffLimits
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
 * `delay` spread by up to ± `jitter` of itself (default 0.2), never below 0.
 * @param {number} delay
 * @param {number} [jitter]
 * @param {() => number} [random]
 * @returns {number}
 */
export function spread(delay, jitter = 0.2, random = Math.random) {
  return Math.max(0, Math.round(delay * (1 + jitter * (2 * random() - 1))));
}
