// The chat's side effects, around the pure state in state.js: the customer websocket
// (docs/protocol.md) through the shared ReconnectingSocket, what is sent and re-sent, the
// timers (typing, notices), keyboard focus and the transcript download. The view calls the
// actions this returns; every change of what is shown goes through the store.
import { ReconnectingSocket } from "../common/socket.js";
import { leaveErrors, unconfirmed } from "./state.js";

/**
 * @typedef {import("./state.js").WidgetState} WidgetState
 * @typedef {import("./state.js").Action} Action
 * @typedef {import("./state.js").QuickReply} QuickReply
 * @typedef {import("../common/store.js").Store<WidgetState, Action>} WidgetStore
 * @typedef {Record<string, any>} ClientFrame
 * @typedef {ReturnType<typeof createChat>} Chat
 */

// A ping every 25 s without a pong within 10 s counts as a dead connection (a lost network
// often leaves a socket looking open).
const PING_EVERY = 25000;
const PONG_WITHIN = 10000;
// The customer stopped typing when nothing changed for this long.
const TYPING_IDLE = 2500;
// A typing indicator whose "off" got lost does not stay up for ever.
const TYPING_FAILSAFE = 15000;
const NOTICE_FOR = 8000;

let uid = 0;
/**
 * An id unique to this page: client message ids (1–64 of A-Za-z0-9_-) and element ids.
 * @param {string} prefix
 * @returns {string}
 */
export function newId(prefix) {
  uid += 1;
  return prefix + Date.now().toString(36) + uid.toString(36) + Math.random().toString(36).slice(2, 8);
}

/**
 * @param {{
 *   store: WidgetStore,
 *   service: URL,
 *   shadow: ShadowRoot,
 *   createSocket?: (url: string) => WebSocket,
 * }} options  `service`: where the widget script came from; `shadow`: the widget's root, to
 *   move the focus inside it
 */
export function createChat(options) {
  const store = options.store;
  const service = options.service;
  const shadow = options.shadow;
  /** The service answered our hello on the current socket: frames can go out. */
  let welcomed = false;
  /** @type {ClientFrame[]} frames waiting for the next welcome (typing is never kept) */
  let outbox = [];
  let typingSent = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typingIdle;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typingFailsafe;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let noticeTimer;

  const socket = new ReconnectingSocket({
    url: () => `${service.protocol === "https:" ? "wss:" : "ws:"}//${service.host}/ws/customer`,
    onOpen: (open) => {
      const state = store.get();
      open.send({ type: "hello", v: 1, token: state.token || null, last_seen: state.lastSeen || null });
    },
    onFrame: received,
    onDrop: (code) => {
      welcomed = false;
      // The service refused the chat (token_refused, close 4401): a new one, at once.
      if (code === 4401) {
        startOver();
        socket.settled();
      }
      return "retry";
    },
    onRetryScheduled: (wait, delay) =>
      store.dispatch({
        type: "retry_scheduled",
        wait,
        delay,
        offline: typeof navigator !== "undefined" && navigator.onLine === false,
        now: Date.now(),
      }),
    pingEvery: PING_EVERY,
    pongWithin: PONG_WITHIN,
    createSocket: options.createSocket,
  });

  // --- elements, for the focus (the view owns them; these are its stable class names) -----
  /** @param {string} selector */
  const find = (selector) => /** @type {HTMLElement | null} */ (shadow.querySelector(selector));
  /** @param {string} selector */
  const focus = (selector) => find(selector)?.focus();

  /**
   * Move the focus to a form that just appeared, only while the customer is in the chat panel
   * (never steal it from the shop's page). Inside the shadow root the page's activeElement is
   * the host; the shadow root knows which of the widget's elements has the focus.
   * @param {string} selector
   */
  function focusInside(selector) {
    const node = find(selector);
    const panel = find(".ha-panel");
    if (!node || !panel || !store.get().open) return;
    const inWidget = shadow.activeElement;
    const onPage = document.activeElement;
    if (inWidget ? panel.contains(inWidget) : !onPage || onPage === document.body) node.focus();
  }

  /**
   * Whether the focus is in `selector`, or was there and got lost: a submit button that held
   * it drops it to the page's body when it is disabled while sending.
   * @param {string} selector
   */
  function focusWithin(selector) {
    const active = shadow.activeElement;
    if (active) return !!active.closest(selector);
    if (!store.get().open || !find(selector)) return false;
    const onPage = document.activeElement;
    return !onPage || onPage === document.body;
  }

  // --- frames from the service ------------------------------------------------------------
  /** @param {ClientFrame} frame */
  function received(frame) {
    switch (frame.type) {
      case "welcome": {
        const before = store.get().conversation;
        // Another conversation than the one on screen: what was waiting belonged to the old one.
        if (before && frame.conversation !== before) outbox = [];
        store.dispatch({ type: "welcome", frame });
        welcomed = true;
        socket.settled();
        flush();
        break;
      }
      case "event":
        event(frame);
        break;
      case "pong":
        socket.alive();
        break;
      case "ack":
        if (typeof frame.id === "string") store.dispatch({ type: "ack", id: frame.id });
        break;
      case "typing":
        clearTimeout(typingFailsafe);
        store.dispatch({ type: "typing", on: !!frame.on, from: String(frame.from) });
        if (frame.on) typingFailsafe = setTimeout(() => store.dispatch({ type: "typing_expired" }), TYPING_FAILSAFE);
        break;
      case "queue":
        store.dispatch({
          type: "queue",
          position: Number(frame.position) || 1,
          estimateSeconds: typeof frame.estimate_seconds === "number" ? frame.estimate_seconds : null,
        });
        break;
      case "error":
        if (frame.code === "token_refused") outbox = [];
        store.dispatch({ type: "error", frame });
        if (frame.code !== "token_refused") expireNotice();
        break;
      default:
        break;
    }
  }

  /** @param {ClientFrame} frame */
  function event(frame) {
    if (typeof frame.id !== "string" || store.get().seen[frame.id]) return;
    const leaving = focusWithin(".ha-leave");
    const rating = focusWithin(".ha-rating");
    store.dispatch({ type: "frame", frame, now: Date.now() });
    if (frame.event === "offer_leave_message") focusInside(".ha-leave input");
    else if (frame.event === "state" && frame.state === "closed") focusInside(".ha-rating input");
    // A form that held the focus is gone: keep the keyboard where the chat goes on.
    else if (frame.event === "ticket_created" && leaving) focus(".ha-input");
    else if (frame.event === "rated" && rating) focus(".ha-download-standalone");
  }

  /** After a welcome: what was not confirmed (the service stores each client id once), then
   * the rest of what waited. */
  function flush() {
    for (const message of unconfirmed(store.get())) {
      socket.send({ type: "message", id: message.clientId, text: message.text });
    }
    for (const frame of outbox.splice(0)) {
      // Messages went out above, from the transcript (a refused one is not sent again).
      if (frame.type !== "message") socket.send(frame);
    }
  }

  // --- frames to the service --------------------------------------------------------------
  /** @param {ClientFrame} frame */
  function transmit(frame) {
    if (welcomed && socket.send(frame)) return;
    if (frame.type !== "typing") outbox.push(frame);
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSent) {
      typingSent = false;
      transmit({ type: "typing", on: false });
    }
  }

  /**
   * Show the customer's message at once and send it (or keep it for the next connection).
   * @param {string} raw what to send
   * @param {string} [shown] what the transcript shows (a quick reply's title)
   * @returns {boolean} whether it was sent or kept
   */
  function sendText(raw, shown) {
    const text = String(raw).trim();
    if (!text) return false;
    const maxChars = store.get().maxChars;
    if (text.length > maxChars) {
      notice(`Messages can be at most ${maxChars} characters.`);
      return false;
    }
    const clientId = newId("c");
    store.dispatch({ type: "send", clientId, text, shown: shown || text, at: Date.now() });
    stopTyping();
    transmit({ type: "message", id: clientId, text });
    socket.start();
    return true;
  }

  /** @param {string} text */
  function notice(text) {
    store.dispatch({ type: "notice", text });
    expireNotice();
  }

  function expireNotice() {
    const serial = store.get().notice.serial;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => store.dispatch({ type: "notice_expired", serial }), NOTICE_FOR);
  }

  function startOver() {
    outbox = [];
    store.dispatch({ type: "reset" });
  }

  // --- what the customer does (called by the view) ----------------------------------------
  const actions = {
    /** Connect now (a chat to resume); otherwise the first open or message connects. */
    start() {
      socket.start();
    },

    openPanel() {
      if (store.get().open) return;
      store.dispatch({ type: "open" });
      socket.start();
      setTimeout(() => {
        const input = /** @type {HTMLTextAreaElement | null} */ (find(".ha-input"));
        if (input && !input.disabled) input.focus();
        else focus(".ha-close");
      }, 0);
    },

    closePanel() {
      if (!store.get().open) return;
      store.dispatch({ type: "close" });
      focus(".ha-launcher");
    },

    togglePanel() {
      if (store.get().open) actions.closePanel();
      else actions.openPanel();
    },

    /** @param {string} text the composer's new content */
    typeDraft(text) {
      store.dispatch({ type: "draft", text });
      if (!text.trim()) {
        stopTyping();
        return;
      }
      if (!typingSent) {
        typingSent = true;
        transmit({ type: "typing", on: true });
      }
      clearTimeout(typingIdle);
      typingIdle = setTimeout(stopTyping, TYPING_IDLE);
    },

    submitDraft() {
      const draft = store.get().draft;
      if (draft.trim() && sendText(draft)) store.dispatch({ type: "draft", text: "" });
    },

    /** @param {QuickReply} reply */
    chooseQuickReply(reply) {
      sendText(reply.payload, reply.title);
      // The buttons are gone now: keep the keyboard where the chat goes on.
      focus(".ha-input");
    },

    leaveQueue() {
      transmit({ type: "cancel_queue" });
    },

    /** @param {"email" | "text"} field @param {string} value */
    setLeaveField(field, value) {
      store.dispatch({ type: "leave_field", field, value });
    },

    submitLeave() {
      const form = store.get().leave;
      if (!form || form.sending) return;
      const errors = leaveErrors(form.email, form.text);
      store.dispatch({ type: "leave_checked", ...errors });
      // The error lines made the form taller: keep its button in sight.
      find(".ha-leave .ha-primary")?.scrollIntoView?.({ block: "nearest" });
      if (errors.emailError) return focus(".ha-leave input");
      if (errors.textError) return focus(".ha-leave textarea");
      transmit({ type: "leave_message", email: form.email.trim(), text: form.text.trim() });
      store.dispatch({ type: "leave_sending" });
    },

    /** @param {number} score */
    setStars(score) {
      store.dispatch({ type: "rating_score", score });
    },

    /** @param {string} text */
    setComment(text) {
      store.dispatch({ type: "rating_comment", text });
    },

    submitRating() {
      const form = store.get().rating;
      if (!form || form.sending) return;
      if (!form.score) {
        notice("Please choose 1 to 5 stars.");
        focus(".ha-rating input");
        return;
      }
      /** @type {ClientFrame} */
      const frame = { type: "rating", score: form.score };
      if (form.comment.trim()) frame.comment = form.comment.trim();
      transmit(frame);
      store.dispatch({ type: "rating_sending" });
    },

    newChat() {
      startOver();
      welcomed = false;
      socket.stop();
      socket.start();
      focus(".ha-input");
    },

    retryNow() {
      socket.retryNow();
    },

    /** End the chat's connection and timers (the page is going away; a test is done). */
    stop() {
      clearTimeout(typingIdle);
      clearTimeout(typingFailsafe);
      clearTimeout(noticeTimer);
      socket.stop();
    },

    /** The browser says the network is back: retry at once. */
    online() {
      socket.retryNow();
    },

    /** The browser says the network is gone: the socket is dead even if it looks open. */
    offline() {
      socket.abandon();
    },

    downloadTranscript() {
      const token = store.get().token;
      if (!token) return;
      fetch(new URL("/api/transcript", service).href, {
        headers: { Authorization: `Bearer ${token}` },
      })
        .then((res) => {
          if (!res.ok) throw new Error(`status ${res.status}`);
          return res.blob();
        })
        .then((blob) => {
          const url = URL.createObjectURL(blob);
          const a = document.createElement("a");
          a.href = url;
          a.download = "harbor-chat-transcript.txt";
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 2000);
        })
        .catch(() => notice("The transcript couldn't be downloaded. Please try again."));
    },
  };
  return actions;
}
