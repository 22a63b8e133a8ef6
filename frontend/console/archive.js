// The console's view of the conversation archive (handoff/archive, docs/archive.md): the History
// tab's search and the conversation it opens, the "earlier conversations" beside a live chat, and
// the admins' privacy tools. What the API answers is turned into state here, by pure functions
// the reducer (state.js) calls and Node tests (archive.test.js); the controller does the fetching,
// but for the History tab's older pages (createHistoryPager, which it wires in).
import { ApiError, UNREACHABLE } from "../common/api.js";
import { sentence, stateLabel } from "./words.js";

/**
 * @typedef {import("./state.js").Entry} Entry
 */

/**
 * The History tab's search form, as sent: each is a query parameter of
 * `GET /api/archive/conversations` (`q` is text in the transcript or the notes).
 * @typedef {{q: string, order: string, email: string, tag: string, from: string, to: string}} SearchFilters
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
 * @typedef {{
 *   filters: SearchFilters,
 *   status: "idle" | "searching" | "done" | "error",
 *   results: ArchivedSummary[],
 *   next: string,
 *   olderError: string,
 *   error: string,
 *   seq: number,
 *   formVersion: number,
 *   open: string | null,
 *   opened: ArchivedConversation | null,
 *   openStatus: "idle" | "loading" | "done" | "error",
 *   openError: string,
 * }} HistoryState
 * `seq`: the number of the latest search; an answer to an older one is dropped (a slow search
 * must not overwrite a newer one's results). `next`: the server's cursor to the page of older
 * results after those listed ("" when they are all listed); `olderError`: why that page failed. `formVersion`: bumped when the filters are set from
 * elsewhere (a live chat's "earlier conversations"), so the form is drawn again with them; what
 * the agent types stays in the form's own fields until it is sent.
 *
 * @typedef {{name: string, email?: string, verified_order: string, known_by: string}} Customer
 *   Who a live chat's customer is, as far as they proved it (GET /api/conversations/{id}/customer).
 *   An `email` there is never shown (customerWho).
 * @typedef {{id: string, at?: string, status?: string, text?: string, conversation?: string}} Ticket
 *   A message the customer left when nobody could take the chat.
 * @typedef {{count: number, average: number | null}} Ratings
 * @typedef {{query: string, status: "loading" | "done" | "error", items: ArchivedSummary[], at: number,
 *   customer?: Customer | null, tickets?: Ticket[], ratings?: Ratings, archive?: string}} Earlier
 *   A live chat's customer's earlier conversations and the search that found them (earlierQuery);
 *   kept per live chat, so that a customer's new chat looks again (their last one may have just
 *   been archived), while switching back to a chat does not.
 *
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
 *   | {type: "history-search", filters: SearchFilters, seq: number, fromElsewhere?: boolean}
 *   | {type: "history-results", seq: number, conversations: ArchivedSummary[], next?: string, older?: boolean}
 *   | {type: "history-failed", seq: number, message: string, older?: boolean}
 *   | {type: "history-open", id: string}
 *   | {type: "history-opened", id: string, conversation: Record<string, any>}
 *   | {type: "history-open-failed", id: string, message: string}
 *   | {type: "history-close"}
 * )} HistoryAction
 * `older`: the answer is the page after the results listed (appended to them), not a new search.
 * @typedef {(
 *   | {type: "earlier-loading", conversation: string, query: string, at: number}
 *   | {type: "earlier", conversation: string, query: string, conversations: ArchivedSummary[], at: number,
 *      customer?: Customer | null, tickets?: Ticket[], ratings?: Ratings, archive?: string}
 *   | {type: "earlier-failed", conversation: string, query: string, at: number}
 *   | {type: "earlier-reset"}
 * )} EarlierAction
 * @typedef {(
 *   | {type: "privacy-busy", busy: "export" | "erase"}
 *   | {type: "privacy-exported", filename: string}
 *   | {type: "privacy-erased", erased: Record<string, number>}
 *   | {type: "privacy-failed", message: string}
 *   | {type: "erasures", erasures: Erasure[]}
 *   | {type: "erasures-failed", message: string}
 * )} PrivacyAction
 */

/** The filter names, in the form's order; each is its query parameter's name too. */
export const FILTER_NAMES = /** @type {const} */ (["q", "order", "email", "tag", "from", "to"]);

/** How many of a customer's earlier conversations the packet column lists. */
export const EARLIER_SHOWN = 5;
/** A customer's earlier conversations are looked up again after this long (a chat closed since). */
export const EARLIER_FRESH_MS = 60000;

/** @returns {SearchFilters} */
export function noFilters() {
  return { q: "", order: "", email: "", tag: "", from: "", to: "" };
}

/** @returns {HistoryState} */
export function initialHistory() {
  return {
    filters: noFilters(),
    status: "idle",
    results: [],
    next: "",
    olderError: "",
    error: "",
    seq: 0,
    formVersion: 0,
    open: null,
    opened: null,
    openStatus: "idle",
    openError: "",
  };
}

/** @returns {PrivacyState} */
export function initialPrivacy() {
  return { busy: "", error: "", exported: "", erased: null, erasures: null, erasuresError: "" };
}

/**
 * The search's query string (without "?"): each filter trimmed, empty ones left out, so that the
 * server is asked exactly what the agent typed.
 * @param {Partial<SearchFilters>} filters
 * @returns {string}
 */
export function searchQuery(filters) {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) {
    const value = String(filters[name] || "").trim();
    if (value) params.set(name, value);
  }
  return params.toString();
}

/**
 * The filters as typed, trimmed, with every name present.
 * @param {Partial<SearchFilters>} filters
 * @returns {SearchFilters}
 */
export function cleanFilters(filters) {
  const clean = noFilters();
  for (const name of FILTER_NAMES) clean[name] = String(filters[name] || "").trim();
  return clean;
}

/**
 * The query string of the page after `next` (the last answer's cursor), with the same filters.
 * @param {Partial<SearchFilters>} filters
 * @param {string} next
 * @returns {string}
 */
export function olderQuery(filters, next) {
  const params = new URLSearchParams(searchQuery(filters));
  params.set("before", next);
  return params.toString();
}

/**
 * The line over the results: what was found, and whether there is more than is listed.
 * @param {HistoryState} h
 * @returns {string}
 */
export function searchStatusText(h) {
  if (h.status === "searching") return "Searching the archive…";
  if (h.status !== "done") return "";
  const n = h.results.length;
  if (!n) return "No past conversations match this search.";
  const found = `${n === 1 ? "1 conversation" : `${n} conversations`} found, newest first`;
  return h.next ? `${found}; older ones follow.` : `${found}.`;
}

/**
 * A page of older results after those listed: each conversation once (one whose activity moved
 * between the pages is where it was first listed).
 * @param {ArchivedSummary[]} listed
 * @param {Record<string, any>[]} page
 * @returns {ArchivedSummary[]}
 */
export function appendPage(listed, page) {
  const seen = new Set(listed.map((c) => c.id));
  /** @type {ArchivedSummary[]} */
  const added = [];
  for (const c of page.map(summaryOf)) {
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    added.push(c);
  }
  return added.length ? [...listed, ...added] : listed;
}

/**
 * What is wrong with the filters before asking the server, or "" (the server checks the rest and
 * its 400 message is shown as it is).
 * @param {SearchFilters} filters
 * @returns {string}
 */
export function filtersProblem(filters) {
  for (const name of /** @type {const} */ (["from", "to"])) {
    if (filters[name] && !/^\d{4}-\d{2}-\d{2}$/.test(filters[name])) {
      return `Enter the “${name === "from" ? "From" : "To"}” date as YYYY-MM-DD.`;
    }
  }
  if (filters.from && filters.to && filters.from > filters.to) {
    return "The “From” date is after the “To” date.";
  }
  return "";
}

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
 * One page of an archive search's answer: its conversations and the cursor to the next ("" on
 * the last page).
 * @param {Record<string, any>} data
 * @returns {{conversations: any[], next: string}}
 */
export function pageOf(data) {
  return {
    conversations: Array.isArray(data.conversations) ? data.conversations : [],
    next: typeof data.next === "string" ? data.next : "",
  };
}

/**
 * The order the customer of a live chat proved is theirs: the conversation's `verified_order`
 * (set at escalation), else the handoff packet's verified order (an unverified one is never in
 * it); "" when they proved none.
 * @param {Record<string, any> | null | undefined} packet
 * @param {Record<string, any> | null | undefined} fields
 * @returns {string}
 */
export function verifiedOrderOf(packet, fields) {
  const field = fields && typeof fields.verified_order === "string" ? fields.verified_order.trim() : "";
  if (field) return field;
  const slots = packet && packet.slots && typeof packet.slots === "object" ? packet.slots : null;
  if (slots && slots.order_verified === true && typeof slots.order_number === "string") return slots.order_number.trim();
  return "";
}

/**
 * Whose earlier conversations to show beside a live chat; null when the chat does not prove who
 * the customer is. Only a verified order does: then by the customer's email (the verified
 * order's, set with it at escalation: by it a customer is recognised across all their orders),
 * else by the order itself. An email merely typed when leaving a message proves nothing (anyone
 * can type anyone's address), so without a verified order it is not looked up.
 * @param {Record<string, any> | null | undefined} packet
 * @param {Record<string, any> | null | undefined} fields
 * @returns {Partial<SearchFilters> | null}
 */
export function customerFilter(packet, fields) {
  const order = verifiedOrderOf(packet, fields);
  if (!order) return null;
  const email = fields && typeof fields.customer_email === "string" ? fields.customer_email.trim() : "";
  return email ? { email } : { order };
}

/**
 * How the customer is known, for the byline of their history: "verified order HG-10042". Never
 * by their email, even when the service's answer has one: the verified order's email is what proves
 * the order is theirs, not something for agents to read (their name is shown beside this).
 * @param {Customer | null | undefined} customer what the service said
 * @param {string} order the chat's verified order (verifiedOrderOf), until the service answers
 * @returns {string}
 */
export function customerWho(customer, order) {
  const verified = (customer && customer.verified_order) || order;
  return verified ? `verified order ${verified}` : "this customer";
}

/**
 * The search that finds a live chat's earlier conversations ("" when it names no customer).
 * @param {Record<string, any> | null | undefined} packet
 * @param {Record<string, any> | null | undefined} fields
 */
export function earlierQuery(packet, fields) {
  const filter = customerFilter(packet, fields);
  return filter ? searchQuery(filter) : "";
}

/**
 * The earlier conversations to list beside a chat: not the chat itself, the newest few; none
 * while the customer's search changed (their order was verified since) and is not answered.
 * @param {Earlier | undefined} earlier
 * @param {string} cid the live chat
 * @param {string} query the chat's search now (earlierQuery)
 * @returns {ArchivedSummary[]}
 */
export function earlierShown(earlier, cid, query) {
  if (!earlier || earlier.query !== query) return [];
  return earlier.items.filter((c) => c.id !== cid).slice(0, EARLIER_SHOWN);
}

/**
 * Whether a chat's earlier conversations should be looked up (again): never yet, for another
 * search, or a while ago.
 * @param {Earlier | undefined} earlier
 * @param {string} query
 * @param {number} now
 */
export function earlierDue(earlier, query, now) {
  if (!earlier || earlier.query !== query) return true;
  if (earlier.status === "loading") return false;
  return now - earlier.at > EARLIER_FRESH_MS;
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
 * A customer's ratings in words: "Rated 3 earlier chats, 4.3/5 on average" ("" when none).
 * @param {Ratings | undefined} ratings
 */
export function ratingsText(ratings) {
  if (!ratings || !ratings.count || ratings.average == null) return "";
  const chats = ratings.count === 1 ? "1 earlier chat" : `${ratings.count} earlier chats`;
  return `Rated ${chats}, ${Number(ratings.average).toFixed(1)}/5 on average`;
}

/**
 * A date and time in the reader's locale ("" when unknown).
 * @param {number | null | undefined} ms
 */
export function dateTimeText(ms) {
  if (!ms) return "";
  return new Date(Number(ms)).toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
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
 * @param {HistoryState} h
 * @param {HistoryAction} action
 * @returns {HistoryState}
 */
export function historyReducer(h, action) {
  switch (action.type) {
    case "history-search":
      return {
        ...h,
        filters: action.filters,
        status: "searching",
        next: "",
        olderError: "",
        error: "",
        seq: action.seq,
        formVersion: action.fromElsewhere ? h.formVersion + 1 : h.formVersion,
      };
    case "history-results": {
      if (action.seq !== h.seq) return h;
      const next = action.next || "";
      if (action.older) return { ...h, results: appendPage(h.results, action.conversations), next, olderError: "" };
      return { ...h, status: "done", results: action.conversations.map(summaryOf), next, olderError: "", error: "" };
    }
    case "history-failed":
      if (action.seq !== h.seq) return h;
      // An older page that failed leaves the list as it was, and the button to try again.
      if (action.older) return { ...h, olderError: action.message };
      return { ...h, status: "error", results: [], next: "", error: action.message };
    case "history-open":
      return { ...h, open: action.id, opened: null, openStatus: "loading", openError: "" };
    case "history-opened":
      if (action.id !== h.open) return h;
      return { ...h, opened: archivedConversation(action.conversation), openStatus: "done", openError: "" };
    case "history-open-failed":
      if (action.id !== h.open) return h;
      return { ...h, opened: null, openStatus: "error", openError: action.message };
    case "history-close":
      return { ...h, open: null, opened: null, openStatus: "idle", openError: "" };
    default:
      return h;
  }
}

/**
 * @typedef {{showOlderHistory: () => Promise<string>}} HistoryPagingActions
 *   `showOlderHistory` lists the next page of the History tab's search after its results, and
 *   resolves with the id of the first conversation it added ("" when none was: no more pages,
 *   already asked, a failure, or a newer search meanwhile).
 */

/**
 * The History tab's "Show older", for the controller: the page after the listed results, with
 * the filters they were searched with. An answer after a sign-out (`current()` changed) or for a
 * search since replaced (its `seq`) is dropped.
 * @param {{
 *   api: (method: string, path: string, body?: unknown) => Promise<any>,
 *   dispatch: (action: HistoryAction) => void,
 *   history: () => HistoryState,
 *   current: () => number,
 * }} deps
 * @returns {HistoryPagingActions}
 */
export function createHistoryPager(deps) {
  /** The cursor being fetched: a second click meanwhile does not ask for the same page again. */
  let asked = "";
  return {
    async showOlderHistory() {
      const h = deps.history();
      if (h.status !== "done" || !h.next || h.next === asked) return "";
      const seq = h.seq;
      const started = deps.current();
      asked = h.next;
      try {
        const data = await deps.api("GET", `/api/archive/conversations?${olderQuery(h.filters, h.next)}`);
        if (started !== deps.current()) return "";
        const before = deps.history();
        deps.dispatch({ type: "history-results", seq, ...pageOf(data), older: true });
        const after = deps.history();
        return after.seq === seq ? (after.results[before.results.length] || { id: "" }).id : "";
      } catch (err) {
        if (started === deps.current()) {
          deps.dispatch({ type: "history-failed", seq, message: archiveFailureText(err), older: true });
        }
        return "";
      } finally {
        asked = "";
      }
    },
  };
}

/**
 * @param {Record<string, Earlier>} earlier
 * @param {EarlierAction} action
 * @returns {Record<string, Earlier>}
 */
export function earlierReducer(earlier, action) {
  if (action.type === "earlier-reset") return {};
  const cid = action.conversation;
  const before = earlier[cid];
  const kept = before && before.query === action.query ? before.items : [];
  // An answer for the chat's previous search is too late to show.
  if (action.type !== "earlier-loading" && (!before || before.query !== action.query)) return earlier;
  switch (action.type) {
    case "earlier-loading":
      return { ...earlier, [cid]: { query: action.query, status: "loading", items: kept, at: action.at } };
    case "earlier":
      return {
        ...earlier,
        [cid]: {
          query: action.query,
          status: "done",
          items: action.conversations.map(summaryOf),
          at: action.at,
          customer: action.customer || null,
          tickets: Array.isArray(action.tickets) ? action.tickets : [],
          ratings: action.ratings || { count: 0, average: null },
          archive: action.archive || "ok",
        },
      };
    case "earlier-failed":
      return { ...earlier, [cid]: { query: action.query, status: "error", items: kept, at: action.at } };
    default:
      return earlier;
  }
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
