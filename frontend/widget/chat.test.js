import { afterEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { createStore } from "../common/store.js";
import { createChat } from "./chat.js";
import { initialState, reduce } from "./state.js";
import { emptySaved } from "./storage.js";

/** A stand-in for the browser's WebSocket: the test opens, closes and feeds it. */
class FakeSocket {
  /** @param {string} url */
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    /** @type {any[]} */
    this.sent = [];
    /** @type {any} */ this.onopen = null;
    /** @type {any} */ this.onmessage = null;
    /** @type {any} */ this.onclose = null;
    /** @type {any} */ this.onerror = null;
  }
  /** @param {string} data */
  send(data) { this.sent.push(JSON.parse(data)); }
  close() { this.readyState = 3; }
  accept() { this.readyState = 1; this.onopen(); }
  /** @param {number} code */
  drop(code) { this.readyState = 3; this.onclose({ code }); }
  /** @param {Record<string, any>} frame */
  receive(frame) { this.onmessage({ data: JSON.stringify(frame) }); }
  /** @param {string} type */
  sentOf(type) { return this.sent.filter((frame) => frame.type === type); }
}

/** Chats a test started: stopped after it, so no socket or timer keeps the test process alive. */
/** @type {{stop: () => void}[]} */
const started = [];
afterEach(() => {
  for (const chat of started.splice(0)) chat.stop();
});

/** @param {Partial<import("./storage.js").Saved>} [saved] */
function harness(saved = {}) {
  const store = createStore(reduce, initialState({ ...emptySaved(), ...saved }));
  /** @type {FakeSocket[]} */
  const sockets = [];
  // No elements to focus: the chat's logic without a page.
  const shadow = /** @type {ShadowRoot} */ (/** @type {unknown} */ ({ querySelector: () => null, activeElement: null }));
  const chat = createChat({
    store,
    service: new URL("https://chat.example.com/widget.js"),
    shadow,
    createSocket: (url) => {
      const socket = new FakeSocket(url);
      sockets.push(socket);
      return /** @type {any} */ (socket);
    },
  });
  started.push(chat);
  const last = () => sockets[sockets.length - 1];
  return { store, chat, sockets, last };
}

const welcome = { type: "welcome", v: 1, conversation: "conv-1", token: "tok-1", state: "bot", max_message_chars: 2000 };

test("the hello resumes the tab's chat from the last entry shown, on the script's host", () => {
  const { chat, last } = harness({ token: "tok-0", conversation: "conv-1", lastSeen: "7-0" });
  chat.start();
  assert.equal(last().url, "wss://chat.example.com/ws/customer");
  last().accept();
  assert.deepEqual(last().sent, [{ type: "hello", v: 1, token: "tok-0", last_seen: "7-0" }]);
});

test("what the customer sends before the welcome waits for it; typing is never kept", () => {
  mock.timers.enable({ apis: ["setTimeout"] });
  try {
    const { store, chat, last } = harness();
    chat.openPanel();
    last().accept();
    chat.typeDraft("Where is");
    store.dispatch({ type: "draft", text: "Where is my order?" });
    chat.submitDraft();
    chat.leaveQueue();
    assert.deepEqual(last().sent.map((frame) => frame.type), ["hello"]);
    assert.equal(store.get().draft, "", "the box is emptied once the message is shown");
    last().receive(welcome);
    const sent = last().sent.slice(1);
    assert.deepEqual(sent.map((frame) => frame.type), ["message", "cancel_queue"]);
    assert.equal(sent[0].text, "Where is my order?");
    assert.match(sent[0].id, /^[A-Za-z0-9_-]{1,64}$/);
  } finally {
    mock.timers.reset();
  }
});

test("after a drop, unconfirmed messages go again with the same id; confirmed and refused ones do not", () => {
  mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  try {
    const { store, chat, sockets, last } = harness();
    chat.start();
    last().accept();
    last().receive(welcome);
    store.dispatch({ type: "draft", text: "first" });
    chat.submitDraft();
    store.dispatch({ type: "draft", text: "second" });
    chat.submitDraft();
    store.dispatch({ type: "draft", text: "third" });
    chat.submitDraft();
    const [first, second, third] = last().sentOf("message");
    last().receive({ type: "event", id: "3-0", kind: "message", from: "customer", client_id: first.id, text: "first" });
    last().receive({ type: "ack", id: second.id, entry: "4-0", duplicate: false });
    last().receive({ type: "error", code: "rate_limited", id: third.id, message: "Slow down." });
    last().drop(1012);
    mock.timers.tick(10000);
    assert.equal(sockets.length, 2);
    last().accept();
    assert.deepEqual(last().sent, [{ type: "hello", v: 1, token: "tok-1", last_seen: "3-0" }]);
    last().receive(welcome);
    assert.deepEqual(last().sentOf("message"), [{ type: "message", id: second.id, text: "second" }]);
    assert.equal(store.get().connection.backoff, 500);
  } finally {
    mock.timers.reset();
  }
});

test("a refused token (close 4401) starts a fresh chat at once, without the old token", () => {
  mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  try {
    const { store, chat, last } = harness({ token: "stale", conversation: "old", lastSeen: "9-0" });
    chat.start();
    last().accept();
    last().receive({ ...welcome, conversation: "old" });
    // The close alone is enough (the token_refused frame before it may be lost).
    last().drop(4401);
    assert.equal(store.get().token, null);
    mock.timers.tick(500);
    last().accept();
    assert.deepEqual(last().sent, [{ type: "hello", v: 1, token: null, last_seen: null }]);
  } finally {
    mock.timers.reset();
  }
});

test("a message over the service's limit is refused in place and the draft is kept", () => {
  const { store, chat, last } = harness();
  chat.start();
  last().accept();
  last().receive({ ...welcome, max_message_chars: 5 });
  store.dispatch({ type: "draft", text: "far too long" });
  chat.submitDraft();
  assert.deepEqual(last().sentOf("message"), []);
  assert.equal(store.get().draft, "far too long");
  assert.equal(store.get().notice.text, "Messages can be at most 5 characters.");
});

test("a new chat forgets the old one and opens a socket without its token", () => {
  const { store, chat, sockets, last } = harness();
  chat.start();
  last().accept();
  last().receive(welcome);
  last().receive({ type: "event", id: "5-0", kind: "event", from: "system", event: "state", state: "closed" });
  assert.equal(store.get().chat, "closed");
  chat.newChat();
  assert.equal(sockets.length, 2);
  assert.equal(sockets[0].readyState, 3, "the old socket is closed");
  assert.equal(store.get().chat, "bot");
  assert.deepEqual(store.get().entries, []);
  last().accept();
  assert.deepEqual(last().sent, [{ type: "hello", v: 1, token: null, last_seen: null }]);
});

test("the leave-a-message form is checked before anything is sent", () => {
  const { store, chat, last } = harness();
  chat.start();
  last().accept();
  last().receive(welcome);
  last().receive({ type: "event", id: "1-0", kind: "event", from: "system", event: "offer_leave_message" });
  chat.setLeaveField("email", "pat-at-example");
  chat.setLeaveField("text", "Please call me.");
  chat.submitLeave();
  assert.deepEqual(last().sentOf("leave_message"), []);
  assert.equal(store.get().leave?.emailError, "Please enter a valid email address.");
  chat.setLeaveField("email", " pat@example.com ");
  chat.submitLeave();
  assert.deepEqual(last().sentOf("leave_message"), [
    { type: "leave_message", email: "pat@example.com", text: "Please call me." },
  ]);
  assert.equal(store.get().leave?.sending, true);
});
