// The agent console's one state object and the pure reducer that changes it. Every frame of the
// agent websocket (docs/protocol.md, "Agent websocket") and every answer of the HTTP API comes
// in as an action; what it does to the queues, my chats and the transcripts is decided here and
// tested in Node (state.test.js). Side effects (sending frames, toasts, fetching) are the
// controller's (controller.js).
import { NO_TOAST, toastReducer } from "../common/toast.js";
import { earlierReducer } from "./earlier.js";
import { historyReducer, initialHistory } from "./history_search.js";
import { initialPrivacy, privacyReducer } from "./privacy_state.js";
import { followUpReducer } from "./follow_up.js";
import { initialMail, mailReducer } from "./mail.js";
import { ordersReducer } from "./orders.js";

/**
 * @typedef {import("../common/session.js").Profile} Profile
 * @typedef {import("../common/toast.js").ToastState} ToastState
 * @typedef {import("../common/toast.js").ToastAction} ToastAction
 * @typedef {import("./history_search.js").HistoryState} HistoryState
 * @typedef {import("./history_search.js").HistoryAction} HistoryAction
 * @typedef {import("./earlier.js").Earlier} Earlier
 * @typedef {import("./earlier.js").EarlierAction} EarlierAction
 * @typedef {import("./privacy_state.js").PrivacyState} PrivacyState
 * @typedef {import("./privacy_state.js").PrivacyAction} PrivacyAction
 * @typedef {import("./orders.js").OrderPanelState} OrderPanelState
 * @typedef {import("./orders.js").OrderAction} OrderAction
 * @typedef {import("./mail.js").MailState} MailState
 * @typedef {import("./mail.js").MailAction} MailAction
 * @typedef {import("./follow_up.js").FollowUpPanel} FollowUpPanel
 * @typedef {import("./follow_up.js").FollowUpAction} FollowUpAction
 */

/**
 * One transcript entry as the server sends it (plus `pending` on a reply not yet stored).
 * @typedef {{
 *   id?: string,
 *   kind?: string,
 *   from?: string,
 *   text?: string,
 *   at?: number,
 *   client_id?: string,
 *   agent_name?: string,
 *   event?: string,
 *   state?: string,
 *   data?: Record<string, any>,
 *   buttons?: {title?: string}[],
 *   pending?: boolean,
 *   channel?: string,
 *   email_status?: string,
 *   email_error?: string,
 * }} Entry
 * `channel` "email": a customer's message that came by email. `email_status` (queued | sent |
 * failed) and `email_error`: an agent's message that also went out by email, as it stands.
 */

/**
 * @typedef {{status: string, error: string}} EmailStatus
 */

/**
 * @typedef {{
 *   entries: Entry[],
 *   seen: Record<string, true>,
 *   packet: Record<string, any> | null,
 *   state: string,
 *   fields: Record<string, any> | null,
 *   loaded: boolean,
 *   typing: boolean,
 *   unread: number,
 *   history: number,
 *   title: string,
 *   emailStatus: Record<string, EmailStatus>,
 * }} Conversation
 * `seen`: the ids of the entries shown, so a replayed entry is shown once. `history`: how many
 * times a load over HTTP brought entries not seen before; the transcript is drawn into a fresh
 * log element when it changes (transcript.js). `emailStatus`: by entry id, the newest email
 * status the socket told of an entry not shown yet (it is applied when the entry comes).
 */

/**
 * @typedef {{
 *   conversation: string,
 *   priority?: number,
 *   reason?: string,
 *   reason_text?: string,
 *   waiting_seconds?: number,
 *   summary?: string,
 *   title?: string,
 *   target_seconds?: number,
 * }} QueueItem
 * @typedef {{kind: string, target_seconds: number, left_seconds: number, started_at: number}} ResponseDue
 * @typedef {{conversation: string, title: string, priority: number, due: ResponseDue | null, at: number}} MyChat
 *   A `mine` frame's chat; `at`: when the frame arrived, for counting `left_seconds` down.
 * @typedef {{items: QueueItem[], at: number}} TeamQueue
 *   `at`: when the frame arrived, for counting the wait on from `waiting_seconds`.
 * @typedef {{key: string, answer: string, confidence: number}} Suggestion
 * @typedef {{conversation: string, message: string, items: Suggestion[]}} Suggestions
 * @typedef {{title: string, text: string}} CannedResponse
 * @typedef {{id?: string, conversation?: string, email?: string, text?: string, at?: number | string, status?: string}} Ticket
 */

/**
 * @typedef {"chats" | "history" | "tickets" | "dashboard" | "privacy" | "mail"} Tab
 * @typedef {"" | "transfer" | "close"} ActionForm
 * @typedef {{
 *   view: "booting" | "login" | "app",
 *   profile: Profile | null,
 *   tab: Tab,
 *   connection: "" | "connecting" | "reconnecting",
 *   greeted: boolean,
 *   presence: string,
 *   presenceAsked: string | null,
 *   capacity: number,
 *   queues: Record<string, TeamQueue>,
 *   waitingSeen: Record<string, true> | null,
 *   active: string[],
 *   conversations: Record<string, Conversation>,
 *   mine: Record<string, MyChat>,
 *   selected: string | null,
 *   recent: string[],
 *   suggestions: Suggestions | null,
 *   canned: CannedResponse[],
 *   actionForm: ActionForm,
 *   tickets: Ticket[] | null,
 *   stats: Record<string, any> | null,
 *   statsDays: string,
 *   history: HistoryState,
 *   earlier: Record<string, Earlier>,
 *   orders: Record<string, OrderPanelState>,
 *   privacy: PrivacyState,
 *   mail: MailState,
 *   followUps: Record<string, FollowUpPanel>,
 *   chimes: number,
 *   toast: ToastState,
 * }} ConsoleState
 * `greeted`: the current socket's `hello` arrived (presence and capacity are known).
 * `presenceAsked`: the status the agent chose that the server has not confirmed yet (chosen
 * before the socket was up, it is sent after `hello`). `waitingSeen`: the chats the agent has
 * been told are waiting (null until the first queue frame, which alerts nobody). `history`: the
 * History tab (history_search.js); `earlier`: by live chat, its customer's earlier conversations,
 * for the packet column (earlier.js); `orders`: by chat, its order panel (orders.js); `privacy`:
 * the admins' Privacy tab (privacy_state.js); `mail`: the admins' Mail tab (mail.js), where make run's mail catcher runs;
 * `followUps`: by chat, its follow-up email (follow_up.js).
 */

/**
 * @typedef {(
 *   | {type: "signed-out"}
 *   | {type: "signed-in", profile: Profile}
 *   | {type: "tab", tab: Tab}
 *   | {type: "connecting"}
 *   | {type: "dropped"}
 *   | {type: "frame", frame: Record<string, any>, at: number}
 *   | {type: "history", conversation: string, data: Record<string, any>}
 *   | {type: "select", conversation: string, reload?: boolean}
 *   | {type: "sent", conversation: string, entry: Entry}
 *   | {type: "typing-expired", conversation: string}
 *   | {type: "presence-asked", status: string}
 *   | {type: "suggestions", conversation: string, data: Record<string, any> | null}
 *   | {type: "canned", responses: CannedResponse[]}
 *   | {type: "action-form", form: ActionForm}
 *   | {type: "tickets", tickets: Ticket[]}
 *   | {type: "stats-days", days: string}
 *   | {type: "stats", stats: Record<string, any>, days?: string}
 *   | {type: "chimed"}
 *   | HistoryAction
 *   | EarlierAction
 *   | OrderAction
 *   | PrivacyAction
 *   | MailAction
 *   | FollowUpAction
 *   | ToastAction
 * )} ConsoleAction
 */

/** How many chats "Closed by me" keeps. */
export const RECENT_KEPT = 10;

/**
 * @param {ConsoleState["view"]} [view]
 * @returns {ConsoleState}
 */
export function initialState(view = "booting") {
  return {
    view,
    profile: null,
    tab: "chats",
    connection: "",
    greeted: false,
    presence: "offline",
    presenceAsked: null,
    capacity: 0,
    queues: {},
    waitingSeen: null,
    active: [],
    conversations: {},
    mine: {},
    selected: null,
    recent: [],
    suggestions: null,
    canned: [],
    actionForm: "",
    tickets: null,
    stats: null,
    statsDays: "1",
    history: initialHistory(),
    earlier: {},
    orders: {},
    privacy: initialPrivacy(),
    mail: initialMail(),
    followUps: {},
    chimes: 0,
    toast: NO_TOAST,
  };
}

/** @returns {Conversation} */
export function blankConversation() {
  return {
    entries: [],
    seen: {},
    packet: null,
    state: "",
    fields: null,
    loaded: false,
    typing: false,
    unread: 0,
    history: 0,
    title: "",
    emailStatus: {},
  };
}

/**
 * @param {ConsoleState} state
 * @param {string} cid
 * @returns {Conversation}
 */
export function conversationOf(state, cid) {
  return state.conversations[cid] || blankConversation();
}

/**
 * @param {ConsoleState} state
 * @param {string} cid
 * @param {Partial<Conversation> | ((c: Conversation) => Conversation)} change
 * @returns {ConsoleState}
 */
function withConversation(state, cid, change) {
  const before = conversationOf(state, cid);
  const after = typeof change === "function" ? change(before) : { ...before, ...change };
  return { ...state, conversations: { ...state.conversations, [cid]: after } };
}

/**
 * Whether an entry is a customer's message (it counts as unread, ends their typing, and asks for
 * new suggested answers).
 * @param {Entry} entry
 */
export function isCustomerMessage(entry) {
  return entry.kind === "message" && entry.from === "customer";
}

/**
 * Whether this entry would be new to the conversation (not one already shown).
 * @param {ConsoleState} state
 * @param {string} cid
 * @param {Entry} entry
 */
export function isNewEntry(state, cid, entry) {
  return !!entry.id && !conversationOf(state, cid).seen[entry.id];
}

/** How far along an email is: a status never goes back (a late frame or load is older news). */
const EMAIL_PROGRESS = { queued: 0, sent: 1, failed: 2 };

/**
 * The entry with an email status it was told, unless it already has one further along (sent
 * before queued, failed before sent: a bounce comes after the mail was sent). The same entry
 * object when nothing changes, so its row is not drawn again.
 * @param {Entry} entry
 * @param {EmailStatus | undefined} update
 * @returns {Entry}
 */
export function withEmailStatus(entry, update) {
  if (!update || !(update.status in EMAIL_PROGRESS)) return entry;
  const status = /** @type {keyof typeof EMAIL_PROGRESS} */ (update.status);
  const before = /** @type {keyof typeof EMAIL_PROGRESS | undefined} */ (entry.email_status);
  if (before && before in EMAIL_PROGRESS && EMAIL_PROGRESS[before] > EMAIL_PROGRESS[status]) return entry;
  if (before === status && (entry.email_error || "") === update.error) return entry;
  /** @type {Entry} */
  const next = { ...entry, email_status: status };
  if (update.error) next.email_error = update.error;
  else delete next.email_error;
  return next;
}

/**
 * The email status an entry carries (from the server), if any.
 * @param {Entry} entry
 * @returns {EmailStatus | undefined}
 */
function carriedEmailStatus(entry) {
  return entry.email_status ? { status: entry.email_status, error: entry.email_error || "" } : undefined;
}

/**
 * Adds entries to a conversation, each at most once (by id). An agent's own reply shown before
 * the server stored it (no id yet, `client_id` "agent-…") is replaced in place by the stored one.
 * @param {Conversation} c
 * @param {Entry[]} entries
 * @param {boolean} countUnread customer messages count as unread (a live frame, chat not shown)
 * @returns {{conversation: Conversation, added: number}}
 */
export function addEntries(c, entries, countUnread) {
  /** @type {Conversation} */
  const next = { ...c, entries: c.entries.slice(), seen: { ...c.seen }, emailStatus: { ...c.emailStatus } };
  let added = 0;
  let updated = 0;
  for (const given of entries) {
    if (!given || !given.id) continue;
    if (next.seen[given.id]) {
      // Shown already: a load over HTTP may still bring its email's newer status.
      const at = next.entries.findIndex((e) => e.id === given.id);
      const changed = at >= 0 ? withEmailStatus(next.entries[at], carriedEmailStatus(given)) : null;
      if (changed && changed !== next.entries[at]) {
        next.entries[at] = changed;
        updated += 1;
      }
      continue;
    }
    // A status the socket told before the entry came.
    const entry = withEmailStatus(given, next.emailStatus[given.id]);
    delete next.emailStatus[given.id];
    next.seen[entry.id || ""] = true;
    added += 1;
    if (entry.event === "state" && entry.state) next.state = entry.state;
    if (isCustomerMessage(entry)) {
      next.typing = false;
      if (countUnread) next.unread += 1;
    }
    const shown = entry.client_id
      ? next.entries.findIndex((e) => !e.id && e.client_id === entry.client_id)
      : -1;
    if (shown >= 0) next.entries[shown] = entry;
    else next.entries.push(entry);
  }
  return added || updated ? { conversation: next, added } : { conversation: c, added: 0 };
}

/**
 * An `email_status` frame: the agent's message it names shows how its email went; one not
 * shown yet gets it when it comes.
 * @param {Conversation} c
 * @param {string} entryId
 * @param {EmailStatus} update
 * @returns {Conversation}
 */
export function applyEmailStatus(c, entryId, update) {
  if (!(update.status in EMAIL_PROGRESS)) return c;
  const at = c.entries.findIndex((e) => e.id === entryId);
  if (at < 0) {
    const known = c.emailStatus[entryId];
    const merged = withEmailStatus(known ? { email_status: known.status, email_error: known.error } : {}, update);
    const status = { status: merged.email_status || "", error: merged.email_error || "" };
    return { ...c, emailStatus: { ...c.emailStatus, [entryId]: status } };
  }
  const changed = withEmailStatus(c.entries[at], update);
  if (changed === c.entries[at]) return c;
  const entries = c.entries.slice();
  entries[at] = changed;
  return { ...c, entries };
}

/**
 * The id of the last stored entry, for `open`'s `last_seen` (replies still pending have none).
 * @param {Conversation | undefined} c
 * @returns {string | null}
 */
export function lastSeenId(c) {
  if (!c) return null;
  for (let i = c.entries.length - 1; i >= 0; i -= 1) {
    const id = c.entries[i].id;
    if (id) return id;
  }
  return null;
}

/**
 * The customer's last message or the agent's last reply, for My chats.
 * @param {Conversation} c
 * @returns {Entry | null}
 */
export function lastMessage(c) {
  for (let i = c.entries.length - 1; i >= 0; i -= 1) {
    if (c.entries[i].kind === "message") return c.entries[i];
  }
  return null;
}

/**
 * Showing a chat: it is read, and suggested answers for another chat no longer apply.
 * @param {ConsoleState} state
 * @param {string} cid
 * @param {boolean} [reload] load it again (a closed chat's wrap-up is in its fields)
 * @returns {ConsoleState}
 */
function select(state, cid, reload) {
  const c = conversationOf(state, cid);
  const next = withConversation(state, cid, { unread: 0, loaded: reload ? false : c.loaded });
  return {
    ...next,
    selected: cid,
    suggestions: state.selected === cid ? state.suggestions : null,
  };
}

/**
 * @param {ConsoleState} state
 * @param {Record<string, any>} f
 * @param {number} at
 * @returns {ConsoleState}
 */
export function applyFrame(state, f, at) {
  switch (f.type) {
    case "hello": {
      const presence = String(f.presence || "offline");
      return {
        ...state,
        greeted: true,
        connection: "",
        capacity: Number(f.capacity) || 0,
        presence,
        presenceAsked: state.presenceAsked === presence ? null : state.presenceAsked,
        active: Array.isArray(f.active) ? f.active.map(String) : [],
      };
    }
    case "presence":
      return { ...state, presence: String(f.status), presenceAsked: null };
    case "queue": {
      /** @type {Record<string, TeamQueue>} */
      const queues = { ...state.queues, [String(f.team)]: { items: Array.isArray(f.items) ? f.items : [], at } };
      /** @type {Record<string, true>} */
      const waiting = {};
      for (const team of Object.keys(queues)) {
        for (const item of queues[team].items) waiting[item.conversation] = true;
      }
      return { ...state, queues, waitingSeen: waiting };
    }
    case "active":
      return { ...state, active: Array.isArray(f.conversations) ? f.conversations.map(String) : [] };
    case "mine": {
      // My chats' titles and the reply each customer waits for (queue.js shows the time left).
      /** @type {Record<string, MyChat>} */
      const mine = {};
      for (const chat of Array.isArray(f.chats) ? f.chats : []) mine[String(chat.conversation)] = { ...chat, at };
      return { ...state, mine };
    }
    case "claimed": {
      const cid = String(f.conversation);
      let next = withConversation(state, cid, { packet: f.packet || {}, state: "assigned" });
      if (!next.active.includes(cid)) next = { ...next, active: [...next.active, cid] };
      return select(next, cid);
    }
    case "event": {
      const cid = String(f.conversation);
      const c = conversationOf(state, cid);
      const result = addEntries(c, [/** @type {Entry} */ (f)], state.selected !== cid);
      return result.conversation !== c ? withConversation(state, cid, result.conversation) : state;
    }
    case "typing":
      return withConversation(state, String(f.conversation), { typing: !!f.on });
    case "email_status": {
      const cid = String(f.conversation);
      const update = { status: String(f.status || ""), error: f.error ? String(f.error) : "" };
      const c = conversationOf(state, cid);
      const next = applyEmailStatus(c, String(f.entry), update);
      return next === c ? state : withConversation(state, cid, next);
    }
    case "ack": {
      const cid = String(f.conversation);
      const clientId = `agent-${f.id}`;
      const c = state.conversations[cid];
      if (!c || !c.entries.some((e) => e.client_id === clientId && e.pending)) return state;
      return withConversation(state, cid, {
        entries: c.entries.map((e) => (e.client_id === clientId && e.pending ? { ...e, pending: false } : e)),
      });
    }
    case "transferred":
    case "returned":
    case "closed": {
      const cid = String(f.conversation);
      return {
        ...state,
        active: state.active.filter((x) => x !== cid),
        recent:
          f.type === "closed"
            ? [cid, ...state.recent.filter((x) => x !== cid)].slice(0, RECENT_KEPT)
            : state.recent,
        actionForm: "",
        suggestions: cid === state.selected ? null : state.suggestions,
      };
    }
    default:
      return state;
  }
}

/**
 * A conversation loaded over HTTP (`GET /api/conversations/{id}`): its packet, fields and
 * entries, merged with what the socket already delivered.
 * @param {ConsoleState} state
 * @param {string} cid
 * @param {Record<string, any>} data
 * @returns {ConsoleState}
 */
function applyHistory(state, cid, data) {
  return withConversation(state, cid, (c) => {
    const result = addEntries(c, Array.isArray(data.entries) ? data.entries : [], false);
    const conversation = result.conversation;
    /** @type {Record<string, any>} */
    const fields = data.fields && typeof data.fields === "object" ? data.fields : {};
    return {
      ...conversation,
      packet: data.packet && Object.keys(data.packet).length ? data.packet : conversation.packet,
      state: fields.state || conversation.state,
      fields,
      loaded: true,
      history: result.added ? conversation.history + 1 : conversation.history,
      title: typeof data.title === "string" ? data.title : conversation.title,
    };
  });
}

/**
 * @param {ConsoleState} state
 * @param {ConsoleAction} action
 * @returns {ConsoleState}
 */
export function reduce(state, action) {
  switch (action.type) {
    case "signed-out":
      return initialState("login");
    case "signed-in":
      return { ...initialState("app"), profile: action.profile };
    case "tab":
      return { ...state, tab: action.tab };
    case "connecting":
      return { ...state, connection: "connecting", greeted: false };
    case "dropped":
      return { ...state, connection: "reconnecting", greeted: false };
    case "frame":
      return applyFrame(state, action.frame, action.at);
    case "history":
      return applyHistory(state, action.conversation, action.data);
    case "select":
      return select(state, action.conversation, action.reload);
    case "sent":
      return withConversation(state, action.conversation, (c) => ({
        ...c,
        entries: [...c.entries, action.entry],
      }));
    case "typing-expired":
      return state.conversations[action.conversation]
        ? withConversation(state, action.conversation, { typing: false })
        : state;
    case "presence-asked":
      return { ...state, presenceAsked: action.status };
    case "suggestions": {
      const data = action.data;
      const items = data && Array.isArray(data.suggestions) ? data.suggestions : [];
      if (!items.length) return state.suggestions ? { ...state, suggestions: null } : state;
      return {
        ...state,
        suggestions: { conversation: action.conversation, message: String(data && data.message), items },
      };
    }
    case "canned":
      return { ...state, canned: action.responses };
    case "action-form":
      return { ...state, actionForm: action.form };
    case "tickets":
      return { ...state, tickets: action.tickets };
    case "stats-days":
      return { ...state, statsDays: action.days };
    case "stats":
      // An answer for a period no longer chosen (the agent changed it meanwhile) is dropped.
      if (action.days !== undefined && action.days !== state.statsDays) return state;
      return { ...state, stats: action.stats };
    case "history-search":
    case "history-results":
    case "history-failed":
    case "history-open":
    case "history-opened":
    case "history-open-failed":
    case "history-close": {
      const history = historyReducer(state.history, action);
      return history === state.history ? state : { ...state, history };
    }
    case "earlier-loading":
    case "earlier":
    case "earlier-failed":
    case "earlier-reset": {
      const earlier = earlierReducer(state.earlier, action);
      return earlier === state.earlier ? state : { ...state, earlier };
    }
    case "orders-loading":
    case "orders":
    case "orders-failed":
    case "order-toggle":
    case "order-loading":
    case "order":
    case "order-failed":
      return { ...state, orders: ordersReducer(state.orders, action) };
    case "privacy-busy":
    case "privacy-exported":
    case "privacy-erased":
    case "privacy-failed":
    case "erasures":
    case "erasures-failed":
      return { ...state, privacy: privacyReducer(state.privacy, action) };
    case "mail":
    case "mail-unavailable":
    case "mail-failed":
    case "mail-open":
    case "mail-close":
    case "mail-sending":
    case "mail-sent":
    case "mail-send-failed":
      return { ...state, mail: mailReducer(state.mail, action) };
    case "follow-up-loading":
    case "follow-up":
    case "follow-up-failed":
      return { ...state, followUps: followUpReducer(state.followUps, action) };
    case "chimed":
      return { ...state, chimes: state.chimes + 1 };
    case "toast":
    case "toast-hidden":
      return { ...state, toast: toastReducer(state.toast, action) };
    default:
      return state;
  }
}
