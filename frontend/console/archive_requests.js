// The console's requests to the archive (docs/archive.md): the History tab's search, its older
// pages and the conversation it opens, a live chat's customer and earlier conversations, and the
// admins' Privacy tab (export, erasure, the erasure log). What the answers do to the state is
// history_search.js's, earlier.js's and privacy_state.js's; the controller (controller.js) makes
// one of these per page and hands its actions to the components.
import { confirmDialog } from "../common/dialog.js";
import { postForDownload, saveBlob } from "../common/download.js";
import { focusOn } from "../common/forms.js";
import { archiveErrorText, archiveFailureText, failureOf } from "./archive.js";
import { earlierDue, earlierQuery } from "./earlier.js";
import {
  FILTER_NAMES,
  cleanFilters,
  createHistoryPager,
  filtersProblem,
  noFilters,
  pageOf,
  searchQuery,
} from "./history_search.js";
import { privacySubject } from "./privacy_state.js";

/**
 * @typedef {import("./state.js").ConsoleState} ConsoleState
 * @typedef {import("./state.js").ConsoleAction} ConsoleAction
 * @typedef {import("../common/store.js").Store<ConsoleState, ConsoleAction>} ConsoleStore
 * @typedef {import("../common/session.js").Session} Session
 * @typedef {import("./history_search.js").SearchFilters} SearchFilters
 */

/**
 * @typedef {{
 *   searchHistory: (filters: Partial<SearchFilters>) => void,
 *   openArchived: (id: string) => void,
 *   closeArchived: () => void,
 *   openEarlier: (id: string, query: string) => void,
 *   exportData: (email: string, order: string) => void,
 *   eraseData: (email: string, order: string) => Promise<boolean>,
 *   loadErasures: () => void,
 * } & import("./history_search.js").HistoryPagingActions} ArchiveActions
 * @typedef {{
 *   loadEarlier: () => void,
 *   searchHistory: (typed: Partial<SearchFilters>, fromElsewhere?: boolean) => Promise<void>,
 *   loadErasures: () => Promise<void>,
 *   actions: ArchiveActions,
 * }} ArchiveRequests
 *   `loadEarlier` for the chat on screen, when it is shown or loaded; `searchHistory` and
 *   `loadErasures` for the first visit of their tabs.
 */

/** What the privacy export is saved as when the answer names no file. */
const EXPORT_FILE = "harbor-export.json";

/**
 * @param {{
 *   store: ConsoleStore,
 *   session: Session,
 *   api: (method: string, path: string, body?: unknown) => Promise<any>,
 *   current: () => number,
 * }} deps
 *   `current`: the controller's count of sign-outs (an answer to a request made before the
 *   latest is dropped).
 * @returns {ArchiveRequests}
 */
export function createArchiveRequests(deps) {
  const store = deps.store;
  const dispatch = store.dispatch;
  const session = deps.session;
  const api = deps.api;

  /**
   * The customer of the chat on screen: who they are, their earlier conversations (with their
   * ratings) and the messages they left, when the chat says who they are (a verified order, an
   * email they left) and they were not looked up a moment ago.
   */
  function loadEarlier() {
    const state = store.get();
    const cid = state.selected;
    const c = cid ? state.conversations[cid] : undefined;
    if (!c) return;
    const query = earlierQuery(c.packet, c.fields);
    if (!cid || !query || !earlierDue(state.earlier[cid], query, Date.now())) return;
    const conversation = cid;
    dispatch({ type: "earlier-loading", conversation, query, at: Date.now() });
    const started = deps.current();
    api("GET", `/api/conversations/${encodeURIComponent(conversation)}/customer`).then(
      (data) => {
        if (started !== deps.current()) return;
        const found = Array.isArray(data.conversations) ? data.conversations : [];
        dispatch({
          type: "earlier",
          conversation,
          query,
          conversations: found,
          customer: data.customer || null,
          tickets: Array.isArray(data.tickets) ? data.tickets : [],
          ratings: data.ratings,
          archive: String(data.archive || "ok"),
          at: Date.now(),
        });
      },
      () => {
        if (started === deps.current()) dispatch({ type: "earlier-failed", conversation, query, at: Date.now() });
      },
    );
  }

  /**
   * Search the archive with these filters (the form's, or a customer's from a live chat).
   * @param {Partial<SearchFilters>} typed
   * @param {boolean} [fromElsewhere] the filters did not come from the form: draw it with them
   */
  async function searchHistory(typed, fromElsewhere) {
    const filters = cleanFilters(typed);
    const seq = store.get().history.seq + 1;
    dispatch({ type: "history-search", filters, seq, fromElsewhere });
    const problem = filtersProblem(filters);
    if (problem) {
      dispatch({ type: "history-failed", seq, message: problem });
      return;
    }
    const query = searchQuery(filters);
    const started = deps.current();
    try {
      const data = await api("GET", `/api/archive/conversations${query ? `?${query}` : ""}`);
      if (started !== deps.current()) return;
      dispatch({ type: "history-results", seq, ...pageOf(data) });
    } catch (err) {
      if (started === deps.current()) dispatch({ type: "history-failed", seq, message: archiveFailureText(err) });
    }
  }

  /** @param {string} id */
  async function openArchived(id) {
    dispatch({ type: "history-open", id });
    // The reader goes on from the conversation's heading (keyboard and screen reader alike).
    focusOn("history-title");
    const started = deps.current();
    try {
      const data = await api("GET", `/api/archive/conversations/${encodeURIComponent(id)}`);
      if (started !== deps.current()) return;
      dispatch({ type: "history-opened", id, conversation: data.conversation || {} });
    } catch (err) {
      if (started === deps.current()) dispatch({ type: "history-open-failed", id, message: archiveFailureText(err) });
    }
  }

  async function loadErasures() {
    try {
      const data = await api("GET", "/api/privacy/erasures");
      dispatch({ type: "erasures", erasures: Array.isArray(data.erasures) ? data.erasures : [] });
    } catch (err) {
      dispatch({ type: "erasures-failed", message: archiveFailureText(err) });
    }
  }

  /**
   * A privacy request failed: say why, and end the page's session if the server's has ended.
   * @param {unknown} err
   */
  function privacyFailed(err) {
    const why = failureOf(err);
    if (why[0] === 401 && session.current) {
      session.end();
      return;
    }
    dispatch({ type: "privacy-failed", message: archiveErrorText(why[0], why[1]) });
  }

  return {
    loadEarlier,
    searchHistory,
    loadErasures,
    actions: {
      searchHistory: (filters) => void searchHistory(filters),
      ...createHistoryPager({ api, dispatch, history: () => store.get().history, current: deps.current }),
      openArchived: (id) => void openArchived(id),
      closeArchived() {
        const open = store.get().history.open;
        dispatch({ type: "history-close" });
        // Back to where the reader came from: the conversation's line in the results.
        const item = open ? document.querySelector(`#history-results button[data-id="${CSS.escape(open)}"]`) : null;
        if (item instanceof HTMLElement) item.focus();
        else focusOn("history-q");
      },
      openEarlier(id, query) {
        // The History tab lists that customer's conversations, with this one open.
        /** @type {Partial<SearchFilters>} */
        const filters = noFilters();
        const params = new URLSearchParams(query);
        for (const name of FILTER_NAMES) filters[name] = params.get(name) || "";
        dispatch({ type: "tab", tab: "history" });
        void searchHistory(filters, true);
        void openArchived(id);
      },
      async exportData(email, order) {
        const subject = privacySubject(email, order);
        if (!subject.body) {
          dispatch({ type: "privacy-failed", message: subject.error });
          return;
        }
        dispatch({ type: "privacy-busy", busy: "export" });
        const started = deps.current();
        try {
          const profile = session.current;
          const file = await postForDownload("/api/privacy/export", subject.body, profile && profile.csrf, EXPORT_FILE);
          if (started !== deps.current()) return;
          saveBlob(file.blob, file.filename);
          dispatch({ type: "privacy-exported", filename: file.filename });
        } catch (err) {
          if (started === deps.current()) privacyFailed(err);
        }
      },
      async eraseData(email, order) {
        const subject = privacySubject(email, order);
        if (!subject.body) {
          dispatch({ type: "privacy-failed", message: subject.error });
          return false;
        }
        const yes = await confirmDialog({
          title: `Erase everything about ${subject.label}?`,
          text:
            `Deleted for good, everywhere: every live and archived conversation of ${subject.label} or ` +
            "naming it, the assistant's records of those conversations, their tickets and unanswered " +
            "questions. This cannot be undone. The erasure log records who erased, when and how much, " +
            "not whose data it was.",
          confirm: "Erase everything",
          danger: true,
        });
        if (!yes) return false;
        dispatch({ type: "privacy-busy", busy: "erase" });
        const started = deps.current();
        try {
          const data = await api("POST", "/api/privacy/erase", subject.body);
          if (started !== deps.current()) return false;
          dispatch({ type: "privacy-erased", erased: data.erased || {} });
        } catch (err) {
          if (started === deps.current()) privacyFailed(err);
          return false;
        }
        void loadErasures();
        // What was erased must not linger on screen: the History tab's results are searched again
        // (and the conversation open there closed), the earlier conversations looked up afresh.
        dispatch({ type: "earlier-reset" });
        const history = store.get().history;
        if (history.open) dispatch({ type: "history-close" });
        if (history.status !== "idle") void searchHistory(history.filters);
        return true;
      },
      loadErasures: () => void loadErasures(),
    },
  };
}
