// The console's wording for what the server sends as codes and phrases.

/**
 * Reasons arrive as phrases ("customer asked for a person"); as a heading they start upper-case.
 * @param {unknown} text
 * @returns {string}
 */
export function sentence(text) {
  const s = String(text || "");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** @type {Record<string, string>} */
const STATE_LABELS = {
  bot: "With the assistant",
  queued: "Waiting in queue",
  assigned: "Assigned",
  closed: "Closed",
};

/**
 * @param {string} state a conversation's state
 * @returns {string}
 */
export function stateLabel(state) {
  return STATE_LABELS[state] || state;
}

/**
 * How agents refer to a chat without a reason: the first 8 characters of its id.
 * @param {string} cid
 */
export function shortId(cid) {
  return String(cid).slice(0, 8);
}

/**
 * A class-name-safe version of a value from the network (a ticket's status).
 * @param {unknown} value
 */
export function classSafe(value) {
  return String(value).replace(/[^A-Za-z0-9_-]/g, "");
}
