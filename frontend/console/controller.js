// The console's side effects: the session's start and end, the HTTP calls, toasts and focus.
// Every change of state goes through the store's reducer (state.js); this module decides what to
// send and fetch around it, with the agent websocket (agent_socket.js), the archive's requests
// (archive_requests.js) and the panels' loaders (orders.js, follow_up.js, mail.js) it makes.
// Components call the Actions it returns.
import { focusOn } from "../common/forms.js";
import { mayChat } from "../common/session.js";
import { askToNotify } from "./alerts.js";
import { createAgentSocket } from "./agent_socket.js";
import { createArchiveRequests } from "./archive_requests.js";
import { createMailLoader } from "./mail.js";
import { createFollowUpLoader } from "./follow_up.js";
import { createOrderLoader } from "./orders.js";
import { takeTicket } from "./tickets.js";

/**
 * @typedef {import("./state.js").ConsoleState} ConsoleState
 * @typedef {import("./state.js").ConsoleAction} ConsoleAction
 * @typedef {import("./state.js").Tab} Tab
 * @typedef {import("../common/store.js").Store<ConsoleState, ConsoleAction>} ConsoleStore
 * @typedef {import("../common/session.js").Session} Session
 * @typedef {import("../common/session.js").Profile} Profile
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
 * } & import("./orders.js").OrderActions & import("./mail.js").MailActions
 *   & import("./follow_up.js").FollowUpActions & import("./archive_requests.js").ArchiveActions} Actions
 */

/** An agent who stops typing for this long is no longer shown as typing to the customer. */
const TYPING_IDLE_MS = 2500;

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
  /** The chat we told the customer of that the agent is typing; null when not typing. */
  /** @type {string | null} */
  let typingFor = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typingIdle;
  /** Bumped at sign-out, so answers to requests made before it are dropped. */
  let epoch = 0;
  const current = () => epoch;
  // The order panel of the chat on screen (orders.js).
  const orders = createOrderLoader({
    api,
    dispatch,
    panel: (cid) => store.get().orders[cid],
    current,
  });
  // The follow-up email of the chat on screen (follow_up.js).
  const followUps = createFollowUpLoader({ api, dispatch, current });
  // The admins' Mail tab (mail.js), where make run's mail catcher runs.
  const mail = createMailLoader({ api, dispatch, current });
  // The History and Privacy tabs, and the customer of the chat on screen.
  const archive = createArchiveRequests({ store, session, api, current });
  // The agent websocket and the chats it carries; the packet column follows the chat on screen.
  const socket = createAgentSocket({
    store,
    session,
    api,
    toast,
    current,
    loadEarlier: archive.loadEarlier,
    listOrders: orders.list,
    loadFollowUp: followUps.load,
  });
  const sendFrame = socket.send;
  const afterSelect = socket.afterSelect;

  // --- session -----------------------------------------------------------------------------

  /** @param {Profile} profile */
  function start(profile) {
    dispatch({ type: "signed-in", profile });
    if (!mayChat(profile.role)) return;
    void loadCanned();
    socket.connect();
    // Whether the Mail tab is shown: the list answers 404 where no catcher runs.
    if (profile.role === "admin") void mail.list();
  }

  function stop() {
    epoch += 1;
    socket.stop();
    clearTimeout(typingIdle);
    typingFor = null;
    dispatch({ type: "signed-out" });
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
      if (tab === "history" && store.get().history.status === "idle") void archive.searchHistory({});
      if (tab === "privacy") void archive.loadErasures();
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
    ...archive.actions,
    toggleOrder: (cid, order) => orders.toggle(cid, order),
    retryOrder: (cid, order) => orders.retry(cid, order),
    loadOrders: (cid) => void orders.list(cid),
  };

  return {
    act,
    start,
    stop,
    /** The browser lost or regained the network. */
    network: socket.network,
  };
}
