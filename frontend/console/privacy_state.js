// The admins' Privacy tab's side of the console state: the subject of an export or erasure as
// typed, what an erasure deleted in words, the erasure log, and its reducer slice (state.js calls
// it). Pure, tested in Node (archive.test.js); archive_requests.js does the requests and the
// download.

/**
 * @typedef {{id?: number, at?: number, actor?: string, subject_kind?: string, conversations?: number,
 *   details?: Record<string, number>}} Erasure
 * @typedef {{
 *   busy: "" | "export" | "erase",
 *   error: string,
 *   exported: string,
 *   erased: Record<string, number> | null,
 *   erasures: Erasure[] | null,
 *   erasuresError: string,
 * }} PrivacyState
 * `exported`: the file name of the last export downloaded.
 */

/**
 * @typedef {(
 *   | {type: "privacy-busy", busy: "export" | "erase"}
 *   | {type: "privacy-exported", filename: string}
 *   | {type: "privacy-erased", erased: Record<string, number>}
 *   | {type: "privacy-failed", message: string}
 *   | {type: "erasures", erasures: Erasure[]}
 *   | {type: "erasures-failed", message: string}
 * )} PrivacyAction
 */

/** @returns {PrivacyState} */
export function initialPrivacy() {
  return { busy: "", error: "", exported: "", erased: null, erasures: null, erasuresError: "" };
}

/**
 * The subject of an export or erasure from the privacy form: exactly one of an email address or
 * an order number. `error` says what to fix.
 * @param {string} email
 * @param {string} order
 * @returns {{body: {email: string} | {order_number: string}, label: string, error: ""} | {body: null, label: "", error: string}}
 */
export function privacySubject(email, order) {
  const e = email.trim();
  const o = order.trim();
  if (e && o) return { body: null, label: "", error: "Give an email address or an order number, not both." };
  if (e) {
    if (!/^[^\s@]+@[^\s@]+$/.test(e)) return { body: null, label: "", error: "That is not an email address." };
    return { body: { email: e }, label: e, error: "" };
  }
  if (o) {
    if (!/\d/.test(o)) return { body: null, label: "", error: "An order number has digits, like HG-10042." };
    return { body: { order_number: o }, label: `order ${o}`, error: "" };
  }
  return { body: null, label: "", error: "Enter the customer's email address or an order number." };
}

/** The kinds of data an erasure counts, in the order they are told. */
export const ERASED_KINDS = [
  ["live_conversations", "live conversation", "live conversations"],
  ["assistant_trackers", "assistant record", "assistant records"],
  ["archived_conversations", "archived conversation", "archived conversations"],
  ["tickets", "ticket", "tickets"],
  ["unanswered_questions", "unanswered question", "unanswered questions"],
  ["emails", "email", "emails"],
  ["follow_ups", "follow-up", "follow-ups"],
  ["order_lookups", "order lookup made anonymous", "order lookups made anonymous"],
];

/**
 * What an erasure deleted, in words: "1 live conversation, 2 archived conversations, 0 tickets …".
 * @param {Record<string, number> | null | undefined} counts
 * @returns {string}
 */
export function erasedText(counts) {
  const c = counts || {};
  return ERASED_KINDS.map((kind) => {
    const n = Number(c[kind[0]]) || 0;
    return `${n} ${n === 1 ? kind[1] : kind[2]}`;
  }).join(", ");
}

/**
 * @param {string | undefined} kind an erasure's subject kind
 */
export function subjectKindText(kind) {
  if (kind === "email") return "Email address";
  if (kind === "order_number") return "Order number";
  return String(kind || "");
}

/**
 * @param {PrivacyState} p
 * @param {PrivacyAction} action
 * @returns {PrivacyState}
 */
export function privacyReducer(p, action) {
  switch (action.type) {
    case "privacy-busy":
      return { ...p, busy: action.busy, error: "", exported: "", erased: null };
    case "privacy-exported":
      return { ...p, busy: "", exported: action.filename };
    case "privacy-erased":
      return { ...p, busy: "", erased: action.erased };
    case "privacy-failed":
      return { ...p, busy: "", error: action.message };
    case "erasures":
      return { ...p, erasures: action.erasures, erasuresError: "" };
    case "erasures-failed":
      return { ...p, erasuresError: action.message };
    default:
      return p;
  }
}
