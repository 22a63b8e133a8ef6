// The History tab's side of the console state: the search form's filters as sent, the results a
// page at a time, and the archived conversation opened from them. Its reducer slice (state.js
// calls it) and pure helpers, tested in Node (archive.test.js); archive_requests.js does the
// searching, but for the older pages (createHistoryPager, which it wires in).
import { archiveFailureText, archivedConversation, summaryOf } from "./archive.js";

/**
 * @typedef {import("./archive.js").ArchivedSummary} ArchivedSummary
 * @typedef {import("./archive.js").ArchivedConversation} ArchivedConversation
 */

/**
 * The History tab's search form, as sent: each is a query parameter of
 * `GET /api/archive/conversations` (`q` is text in the transcript or the notes).
 * @typedef {{q: string, order: string, email: string, tag: string, from: string, to: string}} SearchFilters
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
 * results after those listed ("" when they are all listed); `olderError`: why that page failed.
 * `formVersion`: bumped when the filters are set from elsewhere (a live chat's "earlier
 * conversations"), so the form is drawn again with them; what the agent types stays in the
 * form's own fields until it is sent.
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
 */

/** The filter names, in the form's order; each is its query parameter's name too. */
export const FILTER_NAMES = /** @type {const} */ (["q", "order", "email", "tag", "from", "to"]);

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
 * The History tab's "Show older", for archive_requests.js: the page after the listed results,
 * with the filters they were searched with. An answer after a sign-out (`current()` changed) or
 * for a search since replaced (its `seq`) is dropped.
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
