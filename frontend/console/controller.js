// The console's side effects: the agent websocket, the HTTP calls, toasts, alerts and focus.
// Every change of state goes through the store's reducer (state.js); this module decides what to
// send and fetch around it. Components call the Actions it returns.
import { ApiError } from "../common/api.js";
import { confirmDialog } from "../common/dialog.js";
import { postForDownload, saveBlob } from "../common/download.js";
import { focusOn } from "../common/forms.js";
import { ReconnectingSocket } from "../common/socket.js";
import { mayChat } from "../common/session.js";
import { arrivalReason, arrivalText, askToNotify, breachText, chime, notifyInBackground } from "./alerts.js";
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
import { createMailLoader } from "./mail.js";
import { createFollowUpLoader } from "./follow_up.js";
import { createOrderLoader, mentionsOrder } from "./orders.js";
import { privacySubject } from "./privacy_state.js";
import { claimFailedText, freshArrivals } from "./queue.js";
import { isCustomerMessage, isNewEntry, lastSeenId } from "./state.js";
import { takeTicket } from "./tickets.js";

/**
 * @typedef {import("./state.js").ConsoleState} ConsoleState
 * @typedef {import("./state.js").ConsoleAction} ConsoleAction
 * @typedef {import("./state.js").Tab} Tab
 * @typedef {import("../common/store.js").Store<ConsoleState, ConsoleAction>} ConsoleStore
 * @typedef {import("../common/session.js").Session} Session
 * @typedef {import("../common/session.js").Profile} Profile
 * @typedef {import("./history_search.js").SearchFilters} SearchFilters
 */

/**
 * @typedef {{
 *   signIn: (username: string, password: string) => Promise<void>,
 *   signOut: () => void,
 *   showTab: (tab: Tab) => void,
 *   askPresence: (status: string) => void,
 *   select: (cid: string) => void,
 *   openClosed: (cid: string) => void,
 *   claim: (cid: string) => void,
 *   sendMessage: (text: string) => boolean,
 *   typed: () => void,
 *   toggleForm: (form: "transfer" | "close") => void,
 *   transfer: (to: {to_agent: string} | {to_team: string}) => void,
 *   returnToBot: () => void,
 *   close: (notes: string, tags: string[], emailTranscript?: boolean) => boolean,
 *   loadTickets: () => void,
 *   replyByEmail: (ticket: import("./state.js").Ticket) => void,
 *   setStatsDays: (days: string) => void,
 *   searchHistory: (filters: Partial<SearchFilters>) => void,
 *   openArchived: (id: string) => void,
 *   closeArchived: () => void,
 *   openEarlier: (id: string, query: string) => void,
 *   exportData: (email: string, order: string) => void,
 *   eraseData: (email: string, order: string) => Promise<boolean>,
 *   loadErasures: () => void,
 * } & import("./orders.js").OrderActions & import("./mail.js").MailActions
 *   & import("./follow_up.js").FollowUpActions & import("./history_search.js").HistoryPagingActions} Actions
 */

/** How long the customer's typing indicator stays without a new `typing` frame. */
const TYPING_SHOWN_MS = 15000;
/** An agent who stops typing for this long is no longer shown as typing to the customer. */
const TYPING_IDLE_MS = 2500;
/** Suggested answers wait for a burst of messages to settle. */
const SUGGEST_DELAY_MS = 150;
/** How long a chat just opened waits for its reply box to become usable before the keyboard
 * goes there (longer, and it could take the focus from wherever the agent went meanwhile). */
const COMPOSER_WAIT_MS = 5000;
/** What the privacy export is saved as when the answer names no file. */
const EXPORT_FILE = "harbor-export.json";

let messageSeq = 0;
/** A message id (1-64 letters and digits) unique to this console. */
function newMessageId() {
  messageSeq += 1;
  return Date.now().toString(36) + messageSeq.toString(36) + Math.random().toString(36).slice(2, 8);
}

/**
 * @param {{
 *   store: ConsoleStore,
 *   session: Session,
 *   toast: (text: string, kind?: string) => void,
 * }} deps
 */
export function createController(deps) {
  const store = deps.store;
  const session = deps.session;
  const toast = deps.toast;
  const dispatch = store.dispatch;
  const api = session.api;
  /** @type {ReconnectingSocket | null} */
  let socket = null;
  /** Conversations being loaded over HTTP. */
  const loading = new Set();
  /** @type {Map<string, ReturnType<typeof setTimeout>>} the customers' typing indicators */
  const typingTimers = new Map();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let suggestTimer;
  /** The chat we told the customer of that the agent is typing; null when not typing. */
  /** @type {string | null} */
  let typingFor = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typingIdle;
  /** Bumped at sign-out, so answers to requests made before it are dropped. */
  let epoch = 0;
  // The order panel of the chat on screen (orders.js).
  const orders = createOrderLoader({
    api,
    dispatch,
    panel: (cid) => store.get().orders[cid],
    current: () => epoch,
  });
  // The follow-up email of the chat on screen (follow_up.js).
  const followUps = createFollowUpLoader({ api, dispatch, current: () => epoch });
  // The admins' Mail tab (mail.js), where make run's mail catcher runs.
  const mail = createMailLoader({ api, dispatch, current: () => epoch });

  /**
   * @param {Record<string, any>} frame
   * @returns {boolean} whether it was sent; the agent is told when not
   */
  function sendFrame(frame) {
    if (socket && socket.send(frame)) return true;
    toast("Not connected; try again in a moment.");
    return false;
  }

  // --- session -----------------------------------------------------------------------------

  /** @param {Profile} profile */
  function start(profile) {
    dispatch({ type: "signed-in", profile });
    if (!mayChat(profile.role)) return;
    void loadCanned();
    connect();
    // Whether the Mail tab is shown: the list answers 404 where no catcher runs.
    if (profile.role === "admin") void mail.list();
  }

  function stop() {
    epoch += 1;
    if (socket) socket.stop();
    socket = null;
    for (const timer of typingTimers.values()) clearTimeout(timer);
    typingTimers.clear();
    clearTimeout(suggestTimer);
    clearTimeout(typingIdle);
    typingFor = null;
    loading.clear();
    dispatch({ type: "signed-out" });
  }

  // --- the agent websocket -----------------------------------------------------------------

  function connect() {
    socket = new ReconnectingSocket({
      url: () => `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/agent`,
      onFrame,
      onDrop(code) {
        // 4401: the session ended (signed out elsewhere, password changed).
        if (code === 4401 || !session.current) {
          if (session.current) session.end();
          return "stop";
        }
        dispatch({ type: "dropped" });
        return "retry";
      },
      async beforeRetry() {
        // The session may have ended while we were away (a 401 signs the page out).
        try {
          await api("GET", "/api/me");
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) return false;
        }
        if (!session.current) return false;
        dispatch({ type: "connecting" });
        return true;
      },
      pingEvery: 25000,
      pongWithin: 10000,
    });
    dispatch({ type: "connecting" });
    socket.start();
  }

  /** @param {Record<string, any>} f */
  function onFrame(f) {
    const before = store.get();
    dispatch({ type: "frame", frame: f, at: Date.now() });
    const now = store.get();
    switch (f.type) {
      case "hello":
        if (socket) socket.settled();
        if (now.presenceAsked) sendFrame({ type: "presence", status: now.presenceAsked });
        // A new socket has opened nothing yet: open my chats (and the one on screen) again.
        for (const cid of now.active) void openConversation(cid);
        if (now.selected && !now.active.includes(now.selected)) void openConversation(now.selected);
        break;
      case "queue":
        alertArrivals(freshArrivals(before.waitingSeen, now.queues));
        break;
      case "active":
        for (const cid of now.active) void openConversation(cid);
        break;
      case "claimed":
        afterSelect(String(f.conversation));
        break;
      case "claim_failed":
        toast(claimFailedText(f), "warn");
        break;
      case "breach":
        alertBreach(f);
        break;
      case "event":
        if (
          isCustomerMessage(f) &&
          f.conversation === now.selected &&
          isNewEntry(before, String(f.conversation), f)
        ) {
          loadSuggestions(String(f.conversation));
        }
        // A new order number from the customer or the assistant joins the chat's order panel.
        if (
          f.kind === "message" &&
          (f.from === "customer" || f.from === "bot") &&
          f.conversation === now.selected &&
          mentionsOrder(f.text) &&
          isNewEntry(before, String(f.conversation), f)
        ) {
          void orders.list(String(f.conversation));
        }
        // A follow-up scheduled (at close, by the rule), sent or answered: the control says so.
        if (
          typeof f.event === "string" &&
          f.event.startsWith("follow_up_") &&
          f.conversation === now.selected &&
          isNewEntry(before, String(f.conversation), f)
        ) {
          void followUps.load(String(f.conversation));
        }
        break;
      case "typing":
        customerTyping(String(f.conversation), !!f.on);
        break;
      case "transferred":
      case "returned":
      case "closed":
        toast(
          { transferred: "Chat transferred.", returned: "Chat returned to the assistant.", closed: "Chat closed." }[
            /** @type {"transferred" | "returned" | "closed"} */ (f.type)
          ],
          "ok",
        );
        for (const cid of now.active) void openConversation(cid);
        break;
      case "pong":
        if (socket) socket.alive();
        break;
      case "error":
        if (f.code === "session_ended") {
          session.end();
          return;
        }
        toast(f.message || f.code || "Something went wrong.", "error");
        break;
      default:
        break;
    }
  }

  /**
   * @param {string} cid
   * @param {boolean} on
   */
  function customerTyping(cid, on) {
    clearTimeout(typingTimers.get(cid));
    typingTimers.delete(cid);
    if (!on) return;
    typingTimers.set(
      cid,
      setTimeout(() => {
        typingTimers.delete(cid);
        dispatch({ type: "typing-expired", conversation: cid });
      }, TYPING_SHOWN_MS),
    );
  }

  /** @param {import("./state.js").QueueItem[]} fresh */
  function alertArrivals(fresh) {
    if (!fresh.length) return;
    toast(arrivalText(fresh), "info");
    if (store.get().presence !== "online") return;
    if (chime()) dispatch({ type: "chimed" });
    notifyInBackground(arrivalReason(fresh[0]));
  }

  /**
   * A chat the agent sees passed its response-time target (sent once per breach).
   * @param {Record<string, any>} f
   */
  function alertBreach(f) {
    const text = breachText(f);
    toast(text, "warn");
    if (store.get().presence !== "online") return;
    if (chime()) dispatch({ type: "chimed" });
    notifyInBackground(text, "Chat overdue");
  }

  // --- conversations -----------------------------------------------------------------------

  /**
   * Load a conversation's packet, fields and entries over HTTP, then subscribe the socket to
   * what comes after the last entry we have.
   * @param {string} cid
   */
  async function openConversation(cid) {
    if (loading.has(cid)) return;
    loading.add(cid);
    const started = epoch;
    try {
      const data = await api("GET", `/api/conversations/${encodeURIComponent(cid)}`);
      if (started !== epoch) return;
      dispatch({ type: "history", conversation: cid, data });
      sendFrame({ type: "open", conversation: cid, last_seen: lastSeenId(store.get().conversations[cid]) });
      if (store.get().selected === cid) loadEarlier();
    } catch (err) {
      if (started === epoch) toast(err instanceof Error ? err.message : String(err), "error");
    } finally {
      if (started === epoch) loading.delete(cid);
    }
  }

  /** @param {string} cid */
  function loadSuggestions(cid) {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(async () => {
      const state = store.get();
      if (state.selected !== cid || !state.active.includes(cid)) {
        dispatch({ type: "suggestions", conversation: cid, data: null });
        return;
      }
      const started = epoch;
      try {
        const data = await api("GET", `/api/conversations/${encodeURIComponent(cid)}/suggestions`);
        if (started === epoch && store.get().selected === cid) dispatch({ type: "suggestions", conversation: cid, data });
      } catch {
        if (started === epoch) dispatch({ type: "suggestions", conversation: cid, data: null });
      }
    }, SUGGEST_DELAY_MS);
  }

  /**
   * What follows showing a chat: load it if needed, fetch suggested answers, and put the
   * keyboard in the reply.
   * @param {string} cid
   */
  function afterSelect(cid) {
    const c = store.get().conversations[cid];
    if (!c || !c.loaded) void openConversation(cid);
    loadSuggestions(cid);
    loadEarlier();
    void orders.list(cid);
    void followUps.load(cid);
    composerWanted = { cid, until: Date.now() + COMPOSER_WAIT_MS };
    focusComposerIfWanted();
  }

  /**
   * The chat whose reply box gets the keyboard as soon as it can take it. A chat just opened
   * may not be the agent's yet in the store (the socket's `active` frame can come after the
   * HTTP answer that took the ticket), and a disabled box cannot be focused: the focus follows
   * when the box is enabled, unless another chat was opened or the wait is over.
   * @type {{cid: string, until: number} | null}
   */
  let composerWanted = null;
  // After the render of each change (the page's listener runs in the same dispatch).
  store.subscribe(() => queueMicrotask(focusComposerIfWanted));

  function focusComposerIfWanted() {
    const wanted = composerWanted;
    if (!wanted) return;
    if (store.get().selected !== wanted.cid || Date.now() > wanted.until) {
      composerWanted = null;
      return;
    }
    const box = document.getElementById("composer-input");
    if (box instanceof HTMLTextAreaElement && !box.disabled) {
      box.focus();
      composerWanted = null;
    }
  }

  // --- the archive ---------------------------------------------------------------------------

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
    const started = epoch;
    api("GET", `/api/conversations/${encodeURIComponent(conversation)}/customer`).then(
      (data) => {
        if (started !== epoch) return;
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
        if (started === epoch) dispatch({ type: "earlier-failed", conversation, query, at: Date.now() });
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
    const started = epoch;
    try {
      const data = await api("GET", `/api/archive/conversations${query ? `?${query}` : ""}`);
      if (started !== epoch) return;
      dispatch({ type: "history-results", seq, ...pageOf(data) });
    } catch (err) {
      if (started === epoch) dispatch({ type: "history-failed", seq, message: archiveFailureText(err) });
    }
  }

  /** @param {string} id */
  async function openArchived(id) {
    dispatch({ type: "history-open", id });
    // The reader goes on from the conversation's heading (keyboard and screen reader alike).
    focusOn("history-title");
    const started = epoch;
    try {
      const data = await api("GET", `/api/archive/conversations/${encodeURIComponent(id)}`);
      if (started !== epoch) return;
      dispatch({ type: "history-opened", id, conversation: data.conversation || {} });
    } catch (err) {
      if (started === epoch) dispatch({ type: "history-open-failed", id, message: archiveFailureText(err) });
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

  async function loadCanned() {
    try {
      const data = await api("GET", "/api/canned");
      dispatch({ type: "canned", responses: Array.isArray(data.responses) ? data.responses : [] });
    } catch {
      // The menu stays empty.
    }
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingFor) sendFrame({ type: "typing", conversation: typingFor, on: false });
    typingFor = null;
  }

  async function loadTickets() {
    try {
      const data = await api("GET", "/api/tickets?limit=200");
      dispatch({ type: "tickets", tickets: Array.isArray(data.tickets) ? data.tickets : [] });
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  }

  async function loadStats() {
    try {
      const days = store.get().statsDays;
      const stats = await api("GET", `/api/stats?days=${encodeURIComponent(days)}`);
      dispatch({ type: "stats", stats, days });
    } catch (err) {
      toast(err instanceof Error ? err.message : String(err), "error");
    }
  }

  /** @type {Actions} */
  const act = {
    signIn: (username, password) => session.signIn(username, password),
    signOut: () => void session.signOut(),
    showTab(tab) {
      dispatch({ type: "tab", tab });
      if (tab === "tickets") void loadTickets();
      if (tab === "dashboard") void loadStats();
      // The first visit lists the latest conversations, before any search.
      if (tab === "history" && store.get().history.status === "idle") void searchHistory({});
      if (tab === "privacy") void loadErasures();
      if (tab === "mail") void mail.list();
    },
    askPresence(status) {
      if (status === "online") askToNotify();
      dispatch({ type: "presence-asked", status });
      // Chosen before the socket greeted us (right after sign-in), it is sent after `hello`.
      if (store.get().greeted) sendFrame({ type: "presence", status });
    },
    select(cid) {
      dispatch({ type: "select", conversation: cid });
      afterSelect(cid);
    },
    openClosed(cid) {
      // Loaded again: the wrap-up notes and tags are in the conversation's fields.
      dispatch({ type: "select", conversation: cid, reload: true });
      afterSelect(cid);
    },
    claim: (cid) => void sendFrame({ type: "claim", conversation: cid }),
    sendMessage(text) {
      const state = store.get();
      const cid = state.selected;
      if (!text || !cid) return false;
      const id = newMessageId();
      if (!sendFrame({ type: "message", conversation: cid, id, text })) return false;
      stopTyping();
      dispatch({
        type: "sent",
        conversation: cid,
        entry: {
          kind: "message",
          from: "agent",
          text,
          at: Date.now(),
          agent_name: state.profile ? state.profile.display_name : undefined,
          client_id: `agent-${id}`,
          pending: true,
        },
      });
      return true;
    },
    typed() {
      const cid = store.get().selected;
      if (!cid) return;
      if (typingFor !== cid) {
        stopTyping();
        typingFor = cid;
        sendFrame({ type: "typing", conversation: cid, on: true });
      }
      clearTimeout(typingIdle);
      typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
    },
    toggleForm(form) {
      const open = store.get().actionForm === form ? "" : form;
      dispatch({ type: "action-form", form: open });
      if (open) focusOn(open === "transfer" ? "transfer-team" : "close-notes");
    },
    transfer(to) {
      const cid = store.get().selected;
      if (cid) sendFrame({ type: "transfer", conversation: cid, ...to });
    },
    returnToBot() {
      const cid = store.get().selected;
      if (cid) sendFrame({ type: "return_to_bot", conversation: cid });
    },
    close(notes, tags, emailTranscript) {
      const cid = store.get().selected;
      if (!cid) return false;
      /** @type {Record<string, any>} */
      const frame = { type: "close", conversation: cid, tags };
      if (notes) frame.notes = notes;
      if (emailTranscript) frame.email_transcript = true;
      return sendFrame(frame);
    },
    scheduleFollowUp: (cid, days) => void followUps.schedule(cid, days),
    cancelFollowUp: (cid) => void followUps.cancel(cid),
    loadTickets: () => void loadTickets(),
    replyByEmail(ticket) {
      // The ticket's conversation becomes the agent's chat; what they write there goes by email.
      void takeTicket(
        {
          api,
          openChat(cid) {
            dispatch({ type: "tab", tab: "chats" });
            dispatch({ type: "select", conversation: cid, reload: true });
            afterSelect(cid);
          },
          failed: (text) => toast(text, "error"),
        },
        ticket,
      );
    },
    loadMail: () => void mail.list(),
    openMail(id) {
      dispatch({ type: "mail-open", id });
      // The reader goes on from the mail's subject (keyboard and screen reader alike).
      focusOn("mail-subject");
    },
    closeMail() {
      const open = store.get().mail.open;
      dispatch({ type: "mail-close" });
      const item = open ? document.querySelector(`#mail-body button[data-id="${CSS.escape(open)}"]`) : null;
      if (item instanceof HTMLElement) item.focus();
    },
    replyAsCustomer: (id, text) => mail.reply(id, text),
    setStatsDays(days) {
      dispatch({ type: "stats-days", days });
      void loadStats();
    },
    searchHistory: (filters) => void searchHistory(filters),
    ...createHistoryPager({ api, dispatch, history: () => store.get().history, current: () => epoch }),
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
      const started = epoch;
      try {
        const profile = session.current;
        const file = await postForDownload("/api/privacy/export", subject.body, profile && profile.csrf, EXPORT_FILE);
        if (started !== epoch) return;
        saveBlob(file.blob, file.filename);
        dispatch({ type: "privacy-exported", filename: file.filename });
      } catch (err) {
        if (started === epoch) privacyFailed(err);
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
      const started = epoch;
      try {
        const data = await api("POST", "/api/privacy/erase", subject.body);
        if (started !== epoch) return false;
        dispatch({ type: "privacy-erased", erased: data.erased || {} });
      } catch (err) {
        if (started === epoch) privacyFailed(err);
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
    toggleOrder: (cid, order) => orders.toggle(cid, order),
    retryOrder: (cid, order) => orders.retry(cid, order),
    loadOrders: (cid) => void orders.list(cid),
  };

  return {
    act,
    start,
    stop,
    /** The browser lost or regained the network. */
    /** @param {boolean} online */
    network(online) {
      if (!socket) return;
      if (online) socket.retryNow();
      else socket.abandon();
    },
  };
}
