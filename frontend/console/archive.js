// What the console makes of an archived conversation (handoff/archive, docs/archive.md), shared by
// the History tab (history_search.js, history.js), a live chat's earlier conversations
// (earlier.js) and the Mail tab: a summary from the network with its lists checked, its
// transcript as the live transcript's entries, how it ended and what it was about in words, and
// the wording for a refused archive request. Pure functions, tested in Node (archive.test.js).
import { ApiError, UNREACHABLE } from "../common/api.js";
import { sentence, stateLabel } from "./words.js";

/**
 * @typedef {import("./state.js").Entry} Entry
 */

/**
 * One past conversation as the search lists it.
 * @typedef {{
 *   id: string,
 *   started_at?: number | null,
 *   last_activity_at?: number | null,
 *   closed_at?: number | null,
 *   state?: string | null,
 *   handoff_reason?: string | null,
 *   team?: string | null,
 *   agent?: string | null,
 *   tags?: string[],
 *   notes?: string | null,
 *   rating?: number | null,
 *   rating_comment?: string | null,
 *   customer_email?: string | null,
 *   order_number?: string | null,
 *   packet?: Record<string, any> | null,
 * }} ArchivedSummary
 * @typedef {ArchivedSummary & {transcript: Entry[]}} ArchivedConversation
 *   Its transcript converted to the live transcript's entries (entryOfArchived).
 */

/**
 * The wording for a refused archive request: the archive being away is said plainly, a 400's
 * message is the server's own (which filter is wrong and why).
 * @param {number} status 0 when there was no answer
 * @param {string} message the server's message
 * @returns {string}
 */
export function archiveErrorText(status, message) {
  if (status === 503) return "The archive is not available right now. Try again in a moment.";
  if (status === 404) return "That conversation is not in the archive (it may have been erased or purged).";
  if (status === 0) return UNREACHABLE;
  if (status === 403) return "Your account may not do this.";
  return message || `The archive refused the request (${status}).`;
}

/**
 * The status and message of a failed request (-1 when it failed before any answer was read).
 * @param {unknown} err
 * @returns {[number, string]}
 */
export function failureOf(err) {
  if (err instanceof ApiError) return [err.status, err.message];
  return [-1, err instanceof Error ? err.message : String(err)];
}

/**
 * archiveErrorText for a failed request.
 * @param {unknown} err
 * @returns {string}
 */
export function archiveFailureText(err) {
  const why = failureOf(err);
  return archiveErrorText(why[0], why[1]);
}

/**
 * @param {unknown} raw
 * @returns {unknown}
 */
function parsed(raw) {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/**
 * An archived transcript entry (`{id, at, from, kind, text, data}`, the stream's other fields in
 * `data` as stored: buttons and an event's data as JSON text) as the live transcript's entry, so
 * that both are drawn alike.
 * @param {Record<string, any>} e
 * @returns {Entry}
 */
export function entryOfArchived(e) {
  const data = e && e.data && typeof e.data === "object" ? e.data : {};
  /** @type {Entry} */
  const entry = {
    id: String(e.id),
    kind: String(e.kind || "message"),
    from: String(e.from || "system"),
    text: e.text == null ? "" : String(e.text),
  };
  const at = Number(e.at);
  if (at) entry.at = at;
  for (const name of /** @type {const} */ (["agent_name", "event", "state"])) {
    if (data[name]) entry[name] = String(data[name]);
  }
  const buttons = parsed(data.buttons);
  if (Array.isArray(buttons)) entry.buttons = buttons;
  const extra = parsed(data.data);
  if (extra && typeof extra === "object" && !Array.isArray(extra)) entry.data = /** @type {Record<string, any>} */ (extra);
  return entry;
}

/**
 * @param {Record<string, any>} raw `conversation` of `GET /api/archive/conversations/{cid}`
 * @returns {ArchivedConversation}
 */
export function archivedConversation(raw) {
  const transcript = Array.isArray(raw.transcript) ? raw.transcript : [];
  return {
    ...summaryOf(raw),
    transcript: transcript.filter((e) => e && e.id != null).map(entryOfArchived),
  };
}

/**
 * A summary from the network with its lists checked (tags are drawn as a list).
 * @param {Record<string, any>} raw
 * @returns {ArchivedSummary}
 */
export function summaryOf(raw) {
  return {
    ...raw,
    id: String(raw.id),
    tags: Array.isArray(raw.tags) ? raw.tags.map(String) : [],
    packet: raw.packet && typeof raw.packet === "object" ? raw.packet : null,
  };
}

/**
 * How a past conversation ended, in a few words: who it was with and where it stopped.
 * @param {ArchivedSummary} c
 * @returns {string}
 */
export function outcomeText(c) {
  const handedOff = !!c.handoff_reason;
  switch (c.state) {
    case "closed":
      return handedOff ? "Closed by an agent" : "Closed";
    case "bot":
      return handedOff ? "Back with the assistant" : "Assistant only";
    case "queued":
      return "Left waiting in the queue";
    case "assigned":
      return "With an agent";
    default:
      return stateLabel(String(c.state || "")) || "Unknown";
  }
}

/**
 * Why it went to a person, as the packet words it ("" when it did not).
 * @param {ArchivedSummary} c
 */
export function reasonText(c) {
  const p = c.packet;
  const text = (p && (p.reason_text || p.reason)) || c.handoff_reason || "";
  return text ? sentence(String(text).replace(/_/g, " ")) : "";
}

/**
 * The line that says what a past conversation was about: the packet's summary, else the notes.
 * @param {ArchivedSummary} c
 */
export function gistOf(c) {
  const summary = c.packet && typeof c.packet.summary === "string" ? c.packet.summary.trim() : "";
  if (summary) return summary.split("\n")[0];
  const notes = String(c.notes || "").trim();
  return notes ? notes.split("\n")[0] : "No summary";
}

/**
 * @param {number | null | undefined} rating
 * @returns {string}
 */
export function ratingText(rating) {
  const n = Number(rating);
  return n ? `Rated ${n}/5` : "Not rated";
}

/**
 * A date and time in the reader's locale ("" when unknown).
 * @param {number | null | undefined} ms
 */
export function dateTimeText(ms) {
  if (!ms) return "";
  return new Date(Number(ms)).toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
