// The agent websocket and the chats it carries: the service's frames (queues, my chats, their
// entries, typing, claims, breaches) with the alerts they raise, a conversation loaded over HTTP
// before the socket follows it, suggested answers, the customer's typing indicator, and the
// keyboard's way to a chat's reply box. The controller (controller.js) makes one per page,
// connects it at sign-in, stops it at sign-out and sends the agent's frames through it.
import { ApiError } from "../common/api.js";
import { ReconnectingSocket } from "../common/socket.js";
import { arrivalReason, arrivalText, breachText, chime, notifyInBackground } from "./alerts.js";
import { mentionsOrder } from "./orders.js";
import { claimFailedText, freshArrivals } from "./queue.js";
import { isCustomerMessage, isNewEntry, lastSeenId } from "./state.js";

/**
 * @typedef {import("./state.js").ConsoleState} ConsoleState
 * @typedef {import("./state.js").ConsoleAction} ConsoleAction
 * @typedef {import("../common/store.js").Store<ConsoleState, ConsoleAction>} ConsoleStore
 * @typedef {import("../common/session.js").Session} Session
 */

/**
 * @typedef {{
 *   connect: () => void,
 *   stop: () => void,
 *   network: (online: boolean) => void,
 *   send: (frame: Record<string, any>) => boolean,
 *   afterSelect: (cid: string) => void,
 * }} AgentSocket
 *   `stop` closes the socket and forgets what was under way (the customers' typing, suggestions
 *   asked for, conversations being loaded), for the sign-out; `network`: the browser lost or
 *   regained the network; `send` a frame, or tell the agent it could not be sent (false);
 *   `afterSelect`: what follows showing a chat.
 */

/** How long the customer's typing indicator stays without a new `typing` frame. */
const TYPING_SHOWN_MS = 15000;
/** Suggested answers wait for a burst of messages to settle. */
const SUGGEST_DELAY_MS = 150;
/** How long a chat just opened waits for its reply box to become usable before the keyboard
 * goes there (longer, and it could take the focus from wherever the agent went meanwhile). */
const COMPOSER_WAIT_MS = 5000;

/**
 * @param {{
 *   store: ConsoleStore,
 *   session: Session,
 *   api: (method: string, path: string, body?: unknown) => Promise<any>,
 *   toast: (text: string, kind?: string) => void,
 *   current: () => number,
 *   loadEarlier: () => void,
 *   listOrders: (cid: string) => Promise<void>,
 *   loadFollowUp: (cid: string) => Promise<void>,
 * }} deps
 *   `current`: the controller's count of sign-outs (an answer to a request made before the
 *   latest is dropped); `loadEarlier`, `listOrders`, `loadFollowUp`: the packet column's loaders
 *   for the chat on screen (archive_requests.js's, orders.js's, follow_up.js's).
 * @returns {AgentSocket}
 */
export function createAgentSocket(deps) {
  const store = deps.store;
  const dispatch = store.dispatch;
  const toast = deps.toast;
  /** @type {ReconnectingSocket | null} */
  let socket = null;
  /** Conversations being loaded over HTTP. */
  const loading = new Set();
  /** @type {Map<string, ReturnType<typeof setTimeout>>} the customers' typing indicators */
  const typingTimers = new Map();
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let suggestTimer;

  /**
   * @param {Record<string, any>} frame
   * @returns {boolean} whether it was sent; the agent is told when not
   */
  function sendFrame(frame) {
    if (socket && socket.send(frame)) return true;
    toast("Not connected; try again in a moment.");
    return false;
  }

  // --- the agent websocket -----------------------------------------------------------------

  function connect() {
    socket = new ReconnectingSocket({
      url: () => `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws/agent`,
      onFrame,
      onDrop(code) {
        // 4401: the session ended (signed out elsewhere, password changed).
        if (code === 4401 || !deps.session.current) {
          if (deps.session.current) deps.session.end();
          return "stop";
        }
        dispatch({ type: "dropped" });
        return "retry";
      },
      async beforeRetry() {
        // The session may have ended while we were away (a 401 signs the page out).
        try {
          await deps.api("GET", "/api/me");
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) return false;
        }
        if (!deps.session.current) return false;
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
          void deps.listOrders(String(f.conversation));
        }
        // A follow-up scheduled (at close, by the rule), sent or answered: the control says so.
        if (
          typeof f.event === "string" &&
          f.event.startsWith("follow_up_") &&
          f.conversation === now.selected &&
          isNewEntry(before, String(f.conversation), f)
        ) {
          void deps.loadFollowUp(String(f.conversation));
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
          deps.session.end();
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
    const started = deps.current();
    try {
      const data = await deps.api("GET", `/api/conversations/${encodeURIComponent(cid)}`);
      if (started !== deps.current()) return;
      dispatch({ type: "history", conversation: cid, data });
      sendFrame({ type: "open", conversation: cid, last_seen: lastSeenId(store.get().conversations[cid]) });
      if (store.get().selected === cid) deps.loadEarlier();
    } catch (err) {
      if (started === deps.current()) toast(err instanceof Error ? err.message : String(err), "error");
    } finally {
      if (started === deps.current()) loading.delete(cid);
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
      const started = deps.current();
      try {
        const data = await deps.api("GET", `/api/conversations/${encodeURIComponent(cid)}/suggestions`);
        if (started === deps.current() && store.get().selected === cid) dispatch({ type: "suggestions", conversation: cid, data });
      } catch {
        if (started === deps.current()) dispatch({ type: "suggestions", conversation: cid, data: null });
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
    deps.loadEarlier();
    void deps.listOrders(cid);
    void deps.loadFollowUp(cid);
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

  return {
    connect,
    stop() {
      if (socket) socket.stop();
      socket = null;
      for (const timer of typingTimers.values()) clearTimeout(timer);
      typingTimers.clear();
      clearTimeout(suggestTimer);
      loading.clear();
    },
    network(online) {
      if (!socket) return;
      if (online) socket.retryNow();
      else socket.abandon();
    },
    send: sendFrame,
    afterSelect,
  };
}
