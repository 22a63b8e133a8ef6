// The customer's chat as one state object, changed only by `reduce`: frames from the service
// and the customer's own actions go in, the next state comes out. Nothing here touches the DOM,
// a timer or the socket (chat.js does), so what a frame does to the chat is tested in Node.
//
// The transcript is a list of entries, each with a key that never changes: a bubble, a system
// line ("You are now chatting with …"), the quick replies of the bot's last message, or the
// place of a leave-a-message or rating form. The view draws it keyed, so an entry already on
// screen is never rebuilt (focus, a half-typed form field and the screen reader's place in the
// log survive new messages). Entries from the service are drawn once per entry id, however often
// the service replays them (after a reload, `last_seen` asks for what came after; a reconnect
// can still overlap).
import { customerWait } from "../common/format.js";
import { MAX_CACHED } from "./storage.js";

/**
 * @typedef {import("./storage.js").Frame} Frame
 * @typedef {import("./storage.js").Saved} Saved
 * @typedef {{title: string, payload: string}} QuickReply
 * @typedef {{
 *   key: string, kind: "message", from: "customer" | "bot" | "agent", who: string, text: string,
 *   at: number, id: string | null, clientId: string | null, local: boolean,
 *   delivery: "" | "sending" | "failed", payload: string,
 * }} MessageEntry
 *   `local`: typed in this page (shown before the service confirmed it); `payload`: what was
 *   sent (a quick reply shows its title and sends its payload); `delivery` "sending" until the
 *   service acknowledges it, "failed" when it refused it.
 * @typedef {"" | "agent" | "bot" | "end" | "ok"} Tone
 * @typedef {{key: string, kind: "system", text: string, tone: Tone}} SystemEntry
 * @typedef {{key: string, kind: "quick", buttons: QuickReply[]}} QuickEntry
 * @typedef {{key: string, kind: "leave"}} LeaveEntry
 * @typedef {{key: string, kind: "rating"}} RatingEntry
 * @typedef {MessageEntry | SystemEntry | QuickEntry | LeaveEntry | RatingEntry} Entry
 * @typedef {{
 *   key: string, email: string, text: string, emailError: string, textError: string,
 *   sending: boolean,
 * }} LeaveForm
 * @typedef {{key: string, score: number, comment: string, sending: boolean}} RatingForm
 * @typedef {{position: number, estimateSeconds: number | null}} QueuePlace
 * @typedef {{
 *   status: "" | "online" | "reconnecting" | "offline",
 *   backoff: number, retryAt: number, shown: boolean,
 * }} Connection
 *   `status` "" before the first connection attempt's outcome; `backoff` the delay of the last
 *   scheduled retry (0: none yet); `shown` whether the panel tells the customer.
 * @typedef {{
 *   open: boolean, unread: boolean,
 *   chat: string, agentName: string,
 *   entries: Entry[], seen: Record<string, true>, serial: number,
 *   typing: "" | "bot" | "agent",
 *   queue: QueuePlace | null,
 *   leave: LeaveForm | null, rating: RatingForm | null, transcriptLink: boolean,
 *   notice: {text: string, serial: number},
 *   connection: Connection, everConnected: boolean,
 *   maxChars: number, draft: string,
 *   token: string | null, conversation: string | null, lastSeen: string | null, cache: Frame[],
 * }} WidgetState
 *   `chat`: the conversation's state (bot, queued, assigned, closed); `seen`: the entry ids
 *   drawn; `cache`: the last entries as received, kept for the next page (storage.js).
 * @typedef {(
 *   | {type: "open"} | {type: "close"}
 *   | {type: "replay", frames: Frame[], now: number}
 *   | {type: "frame", frame: Frame, now: number}
 *   | {type: "welcome", frame: Frame}
 *   | {type: "ack", id: string}
 *   | {type: "typing", on: boolean, from: string}
 *   | {type: "typing_expired"}
 *   | {type: "queue", position: number, estimateSeconds: number | null}
 *   | {type: "error", frame: Frame}
 *   | {type: "send", clientId: string, text: string, shown: string, at: number}
 *   | {type: "draft", text: string}
 *   | {type: "notice", text: string}
 *   | {type: "notice_expired", serial: number}
 *   | {type: "reset"}
 *   | {type: "retry_scheduled", delay: number, wait: number, offline: boolean, now: number}
 *   | {type: "leave_field", field: "email" | "text", value: string}
 *   | {type: "leave_checked", emailError: string, textError: string}
 *   | {type: "leave_sending"}
 *   | {type: "rating_score", score: number}
 *   | {type: "rating_comment", text: string}
 *   | {type: "rating_sending"}
 * )} Action
 */

export const DEFAULT_MAX_CHARS = 2000;
export const BAD_EMAIL = "Please enter a valid email address.";
export const NO_MESSAGE = "Please write a message.";

/**
 * The state a page starts from: what the tab kept (its entries are drawn by a `replay`).
 * @param {Saved} saved
 * @returns {WidgetState}
 */
export function initialState(saved) {
  return {
    open: false,
    unread: false,
    chat: "bot",
    agentName: "",
    entries: [],
    seen: {},
    serial: 0,
    typing: "",
    queue: null,
    leave: null,
    rating: null,
    transcriptLink: false,
    notice: { text: "", serial: 0 },
    connection: { status: "", backoff: 0, retryAt: 0, shown: false },
    everConnected: false,
    maxChars: DEFAULT_MAX_CHARS,
    draft: "",
    token: saved.token,
    conversation: saved.conversation,
    lastSeen: saved.lastSeen,
    cache: saved.entries,
  };
}

/**
 * @param {WidgetState} state
 * @param {Action} action
 * @returns {WidgetState}
 */
export function reduce(state, action) {
  switch (action.type) {
    case "open":
      return state.open ? state : { ...state, open: true, unread: false };
    case "close":
      return state.open ? { ...state, open: false } : state;
    case "replay": {
      let next = state;
      for (const frame of action.frames) next = drawFrame(next, frame, false, action.now);
      return next;
    }
    case "frame":
      return drawFrame(state, action.frame, true, action.now);
    case "welcome":
      return welcome(state, action.frame);
    case "ack":
      return updateMessages(
        state,
        (entry) => entry.local && entry.clientId === action.id && entry.delivery === "sending",
        (entry) => ({ ...entry, delivery: "" }),
      );
    case "typing":
      return { ...state, typing: action.on ? (action.from === "agent" ? "agent" : "bot") : "" };
    case "typing_expired":
      return state.typing ? { ...state, typing: "" } : state;
    case "queue":
      return {
        ...state,
        queue: { position: action.position, estimateSeconds: action.estimateSeconds },
      };
    case "error":
      return refused(state, action.frame);
    case "send":
      return append(withoutQuickReplies(state), {
        kind: "message",
        from: "customer",
        who: "",
        text: action.shown,
        payload: action.text,
        at: action.at,
        id: null,
        clientId: action.clientId,
        local: true,
        delivery: "sending",
      });
    case "draft":
      return action.text === state.draft ? state : { ...state, draft: action.text };
    case "notice":
      return { ...state, notice: { text: action.text, serial: state.notice.serial + 1 } };
    case "notice_expired":
      return action.serial === state.notice.serial && state.notice.text
        ? { ...state, notice: { ...state.notice, text: "" } }
        : state;
    case "reset":
      return resetConversation(state);
    case "retry_scheduled":
      return retryScheduled(state, action);
    case "leave_field":
      return state.leave ? { ...state, leave: { ...state.leave, [action.field]: action.value } } : state;
    case "leave_checked":
      return state.leave
        ? {
            ...state,
            leave: { ...state.leave, emailError: action.emailError, textError: action.textError },
          }
        : state;
    case "leave_sending":
      return state.leave ? { ...state, leave: { ...state.leave, sending: true } } : state;
    case "rating_score":
      return state.rating ? { ...state, rating: { ...state.rating, score: action.score } } : state;
    case "rating_comment":
      return state.rating ? { ...state, rating: { ...state.rating, comment: action.text } } : state;
    case "rating_sending":
      return state.rating ? { ...state, rating: { ...state.rating, sending: true } } : state;
    default:
      return state;
  }
}

// --- what the view shows, derived from the state ------------------------------------------

/**
 * The line under the panel's title.
 * @param {WidgetState} state
 * @returns {string}
 */
export function statusText(state) {
  if (state.chat === "queued") return "Waiting for a person";
  if (state.chat === "assigned") {
    return state.agentName ? `Chatting with ${state.agentName}` : "Chatting with an agent";
  }
  if (state.chat === "closed") return "Chat ended";
  return "Assistant · usually replies instantly";
}

/**
 * @param {WidgetState} state
 * @returns {string} "" when nobody is typing
 */
export function typingText(state) {
  if (!state.typing) return "";
  return `${state.typing === "agent" ? state.agentName || "Agent" : "Assistant"} is typing…`;
}

/**
 * The customer's place in the queue, before the first position arrives too.
 * @param {QueuePlace | null} queue
 * @returns {{place: string, wait: string}}
 */
export function queueText(queue) {
  if (!queue) return { place: "You're in the queue for a person.", wait: "" };
  return {
    place:
      queue.position === 1
        ? "You're next in line for a person."
        : `You're number ${queue.position} in line for a person.`,
    wait: `Estimated wait: ${customerWait(queue.estimateSeconds)}`,
  };
}

/**
 * What the connection banner says at `now` (whole seconds, never "0 s").
 * @param {Connection} connection
 * @param {number} now
 * @returns {string}
 */
export function connectionText(connection, now) {
  const seconds = Math.max(1, Math.ceil((connection.retryAt - now) / 1000));
  return connection.status === "offline"
    ? `You're offline. Reconnecting in ${seconds} s…`
    : `Connection lost. Reconnecting in ${seconds} s…`;
}

/**
 * The customer's messages the service has not confirmed (and not refused): sent again, with
 * their ids, after every reconnect. The service stores each id once.
 * @param {WidgetState} state
 * @returns {{clientId: string, text: string}[]}
 */
export function unconfirmed(state) {
  /** @type {{clientId: string, text: string}[]} */
  const out = [];
  for (const entry of state.entries) {
    if (entry.kind === "message" && entry.local && entry.clientId && entry.id === null
        && entry.delivery !== "failed") {
      out.push({ clientId: entry.clientId, text: entry.payload });
    }
  }
  return out;
}

/**
 * The leave-a-message form's errors ("" for a field that is fine), checked before sending so
 * an address that does not look like one is refused in place.
 * @param {string} email
 * @param {string} text
 * @returns {{emailError: string, textError: string}}
 */
export function leaveErrors(email, text) {
  return {
    emailError: /^[^@\s]+@[^@\s]+\.[^@\s]{2,}$/.test(email.trim()) ? "" : BAD_EMAIL,
    textError: text.trim() ? "" : NO_MESSAGE,
  };
}

// --- frames ---------------------------------------------------------------------------------

/**
 * A text field of a frame, "" when absent (and never anything but a string).
 * @param {unknown} value
 * @returns {string}
 */
function str(value) {
  return value === undefined || value === null ? "" : String(value);
}

/**
 * @param {WidgetState} state
 * @param {Frame} frame
 * @param {boolean} live received now (not redrawn from the tab's cache)
 * @param {number} now
 * @returns {WidgetState}
 */
function drawFrame(state, frame, live, now) {
  if (!frame || typeof frame.id !== "string" || !frame.id || state.seen[frame.id]) return state;
  /** @type {WidgetState} */
  let next = { ...state, seen: { ...state.seen, [frame.id]: true } };
  if (live) {
    const cache = [...state.cache, frame];
    next.cache = cache.length > MAX_CACHED ? cache.slice(cache.length - MAX_CACHED) : cache;
    next.lastSeen = frame.id;
    if (!state.open && frame.from !== "customer") next.unread = true;
    // The assistant's news of the customer's order, told as they come back (handoff/gateway/
    // proactive.py): the chat opens with it. The focus stays where it is (never taken from the
    // shop's page); the log announces the message.
    if (!state.open && isOrderNews(frame)) {
      next.open = true;
      next.unread = false;
    }
  }
  return frame.kind === "message" ? drawMessage(next, frame, now) : drawEvent(next, frame);
}

/**
 * Whether a frame is the assistant's news of the customer's order, told before they asked.
 * @param {Frame} frame
 */
export function isOrderNews(frame) {
  const data = frame.data;
  return frame.from === "bot" && !!data && typeof data === "object" && !!data.proactive;
}

/**
 * @param {WidgetState} state
 * @param {Frame} frame
 * @param {number} now
 * @returns {WidgetState}
 */
function drawMessage(state, frame, now) {
  const at = typeof frame.at === "number" && frame.at > 0 ? frame.at : now;
  const text = str(frame.text);
  const id = /** @type {string} */ (frame.id);
  if (frame.from === "customer") {
    const next = withoutQuickReplies(state);
    const clientId = typeof frame.client_id === "string" && frame.client_id ? frame.client_id : null;
    if (clientId && next.entries.some((e) => e.kind === "message" && e.clientId === clientId)) {
      // The service's copy of a message shown when it was typed: confirm it where it stands.
      return updateMessages(
        next,
        (entry) => entry.clientId === clientId,
        (entry) => ({ ...entry, id, at, delivery: "" }),
      );
    }
    return append(next, {
      kind: "message", from: "customer", who: "", text, payload: text, at, id, clientId,
      local: false, delivery: "",
    });
  }
  if (frame.from === "agent") {
    const name = str(frame.agent_name) || "Agent";
    /** @type {WidgetState} */
    let next = { ...state, typing: "" };
    if (name !== state.agentName) {
      next = append({ ...next, agentName: name }, system(`You are now chatting with ${name}`, "agent"));
    }
    return append(next, {
      kind: "message", from: "agent", who: name, text, payload: text, at, id, clientId: null,
      local: false, delivery: "",
    });
  }
  let next = append({ ...state, typing: "" }, {
    kind: "message", from: "bot", who: frame.from === "bot" ? "Assistant" : "", text,
    payload: text, at, id, clientId: null, local: false, delivery: "",
  });
  const buttons = quickReplies(frame.buttons);
  if (buttons.length) next = append(withoutQuickReplies(next), { kind: "quick", buttons });
  return next;
}

/**
 * @param {unknown} buttons
 * @returns {QuickReply[]}
 */
function quickReplies(buttons) {
  if (!Array.isArray(buttons)) return [];
  return buttons
    .filter((b) => b && typeof b === "object" && typeof b.title === "string")
    .map((b) => ({ title: b.title, payload: str(b.payload) || b.title }));
}

/**
 * @param {WidgetState} state
 * @param {Frame} frame
 * @returns {WidgetState}
 */
function drawEvent(state, frame) {
  const text = str(frame.text);
  switch (frame.event) {
    case "state": {
      const to = str(frame.state);
      if (to === "assigned") {
        const data = frame.data && typeof frame.data === "object" ? frame.data : {};
        const name = str(frame.agent_name) || str(data.agent_name) || "an agent";
        const next = setChat({ ...state, agentName: name }, to);
        return append(next, system(`You are now chatting with ${name}`, "agent"));
      }
      const next = setChat(state, to);
      if (to === "bot") {
        const line = /back with the assistant/i.test(text) ? text : "You're back with the assistant";
        return append({ ...next, agentName: "" }, system(line, "bot"));
      }
      if (to === "closed") return withRating(append(next, system(text || "This chat has ended.", "end")));
      return text ? append(next, system(text, "")) : next;
    }
    case "offer_leave_message":
      return withLeaveForm(text ? append(state, system(text, "")) : state);
    case "ticket_created":
      return append(withoutForm(state, "leave"), system(text || "Thanks, your message is with our team.", "ok"));
    case "rated":
      return append(withoutForm(state, "rating"), system(text || "Thanks for your feedback!", "ok"));
    case "started":
      return state;
    default:
      return text ? append(state, system(text, "")) : state;
  }
}

/**
 * The conversation moved to another state (an empty `to` keeps the current one).
 * @param {WidgetState} state
 * @param {string} to
 * @returns {WidgetState}
 */
function setChat(state, to) {
  const chat = to || state.chat;
  let next = { ...state, chat };
  // A place in the queue means nothing once out of it; the next wait starts from no position.
  if (state.chat === "queued" && chat !== "queued") next.queue = null;
  // Queued for a person: the offer to leave a message has been overtaken.
  if (chat === "queued") next = withoutForm(next, "leave");
  if (chat !== "closed") next = withoutForm(next, "rating");
  return next;
}

/**
 * @param {WidgetState} state
 * @param {Frame} frame
 * @returns {WidgetState}
 */
function welcome(state, frame) {
  const conversation = str(frame.conversation) || null;
  let next = state.conversation && conversation !== state.conversation ? resetConversation(state) : state;
  next = {
    ...next,
    token: str(frame.token) || null,
    conversation,
    everConnected: true,
    connection: { ...next.connection, status: "online", shown: false },
  };
  const max = frame.max_message_chars;
  if (typeof max === "number" && max > 0) next.maxChars = max;
  const to = str(frame.state);
  if (to && to !== next.chat) next = setChat(next, to);
  return next;
}

/**
 * An `error` frame: a refused resume token starts over, a refused message is marked, a form
 * that was being sent can be sent again, and the service's message is shown.
 * @param {WidgetState} state
 * @param {Frame} frame
 * @returns {WidgetState}
 */
function refused(state, frame) {
  if (frame.code === "token_refused") return resetConversation(state);
  let next = state;
  const id = typeof frame.id === "string" ? frame.id : "";
  if (id) {
    next = updateMessages(
      next,
      (entry) => entry.clientId === id,
      (entry) => ({ ...entry, delivery: "failed" }),
    );
  }
  if (next.leave && next.leave.sending) next = { ...next, leave: { ...next.leave, sending: false } };
  if (next.rating && next.rating.sending) next = { ...next, rating: { ...next.rating, sending: false } };
  return reduce(next, { type: "notice", text: str(frame.message) || "Something went wrong." });
}

/**
 * @param {WidgetState} state
 * @param {{delay: number, wait: number, offline: boolean, now: number}} retry
 * @returns {WidgetState}
 */
function retryScheduled(state, retry) {
  const connection = { ...state.connection, backoff: retry.delay };
  // A first visit whose very first attempt fails has no chat to lose: say nothing yet.
  if (state.everConnected || state.token) {
    connection.status = retry.offline ? "offline" : "reconnecting";
    connection.retryAt = retry.now + retry.wait;
    connection.shown = true;
  }
  return { ...state, connection };
}

/**
 * A fresh chat (a new one started, or the service refused the old one's token): the panel,
 * the connection and the composer stay as they are.
 * @param {WidgetState} state
 * @returns {WidgetState}
 */
function resetConversation(state) {
  return {
    ...state,
    chat: "bot",
    agentName: "",
    entries: [],
    seen: {},
    typing: "",
    queue: null,
    leave: null,
    rating: null,
    transcriptLink: false,
    token: null,
    conversation: null,
    lastSeen: null,
    cache: [],
  };
}

// --- entries --------------------------------------------------------------------------------

/**
 * @param {string} text
 * @param {Tone} tone
 * @returns {Omit<SystemEntry, "key">}
 */
function system(text, tone) {
  return { kind: "system", text, tone };
}

/**
 * Adds an entry at the end of the transcript under a new key.
 * @param {WidgetState} state
 * @param {DistributiveOmit<Entry, "key">} entry
 * @returns {WidgetState}
 */
function append(state, entry) {
  const serial = state.serial + 1;
  const keyed = /** @type {Entry} */ ({ ...entry, key: `e${serial}` });
  return { ...state, serial, entries: [...state.entries, keyed] };
}

/**
 * @template T
 * @template {keyof any} K
 * @typedef {T extends unknown ? Omit<T, K> : never} DistributiveOmit
 */

/**
 * @param {WidgetState} state
 * @param {(entry: MessageEntry) => boolean} match
 * @param {(entry: MessageEntry) => MessageEntry} change
 * @returns {WidgetState}
 */
function updateMessages(state, match, change) {
  let changed = false;
  const entries = state.entries.map((entry) => {
    if (entry.kind !== "message" || !match(entry)) return entry;
    changed = true;
    return change(entry);
  });
  return changed ? { ...state, entries } : state;
}

/**
 * The bot's suggestions go once the customer has said something (or the bot suggests anew).
 * @param {WidgetState} state
 * @returns {WidgetState}
 */
function withoutQuickReplies(state) {
  return state.entries.some((e) => e.kind === "quick")
    ? { ...state, entries: state.entries.filter((e) => e.kind !== "quick") }
    : state;
}

/**
 * @param {WidgetState} state
 * @param {"leave" | "rating"} kind
 * @returns {WidgetState}
 */
function withoutForm(state, kind) {
  if (!state[kind] && !state.entries.some((e) => e.kind === kind)) return state;
  return { ...state, [kind]: null, entries: state.entries.filter((e) => e.kind !== kind) };
}

/**
 * @param {WidgetState} state
 * @returns {WidgetState}
 */
function withLeaveForm(state) {
  const next = append(withoutForm(state, "leave"), { kind: "leave" });
  const key = next.entries[next.entries.length - 1].key;
  return {
    ...next,
    leave: { key, email: "", text: "", emailError: "", textError: "", sending: false },
  };
}

/**
 * The chat ended: the rating form, and the transcript link beside "Start a new chat" for the
 * rest of this chat.
 * @param {WidgetState} state
 * @returns {WidgetState}
 */
function withRating(state) {
  const next = append(withoutForm(state, "rating"), { kind: "rating" });
  const key = next.entries[next.entries.length - 1].key;
  return {
    ...next,
    rating: { key, score: 0, comment: "", sending: false },
    transcriptLink: true,
  };
}
