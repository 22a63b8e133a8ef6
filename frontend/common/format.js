// Wording shared by the pages: clock times, waits, percentages.

/**
 * A wall-clock time, hours and minutes, in the reader's locale.
 * @param {number | null | undefined} ms (absent: now)
 * @returns {string}
 */
export function clockTime(ms) {
  return new Date(ms || Date.now()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/**
 * How long a chat has waited, for agents: "45s", "3m 20s", "2h 5m".
 * @param {number} seconds
 * @returns {string}
 */
export function waitText(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes}m ${s % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/**
 * The expected wait, for customers: "less than a minute", "about 3 minutes".
 * @param {number | null | undefined} seconds
 * @returns {string}
 */
export function customerWait(seconds) {
  if (!seconds || seconds < 60) return "less than a minute";
  const minutes = Math.round(seconds / 60);
  return `about ${minutes} ${minutes === 1 ? "minute" : "minutes"}`;
}

/**
 * A share as a percentage with one decimal, "—" when unknown; clamped to 0–100 %.
 * @param {number | null | undefined} share
 * @returns {string}
 */
export function percent(share) {
  if (share === null || share === undefined || Number.isNaN(share)) return "—";
  const clamped = Math.max(0, Math.min(1, share));
  return `${Math.round(clamped * 1000) / 10}%`;
}
