import { test } from "node:test";
import assert from "node:assert/strict";
import { conversationOf, initialState, lastSeenId, reduce } from "./state.js";
import { emailStatusText } from "./transcript.js";

/** @typedef {import("./state.js").ConsoleState} ConsoleState */

const PROFILE = { user: "alex", role: "agent", display_name: "Alex Morgan", teams: ["support"], capacity: 3, csrf: "t" };

/**
 * Apply socket frames in order, as the controller does.
 * @param {ConsoleState} state
 * @param {...Record<string, any>} list
 * @returns {ConsoleState}
 */
function frames(state, ...list) {
  let next = state;
  list.forEach((frame, i) => {
    next = reduce(next, { type: "frame", frame, at: 1000 + i });
  });
  return next;
}

function signedIn() {
  return reduce(initialState(), { type: "signed-in", profile: PROFILE });
}

/** @param {ConsoleState} state @param {string} cid */
function texts(state, cid) {
  return conversationOf(state, cid).entries.map((e) => e.text);
}

const message = (/** @type {string} */ id, /** @type {string} */ text, from = "customer") => ({
  type: "event",
  conversation: "c1",
  id,
  kind: "message",
  from,
  text,
  at: 1,
});

test("an entry replayed by the socket or loaded again over HTTP is shown once", () => {
  let state = frames(signedIn(), { type: "hello", presence: "online", capacity: 3, active: ["c1"] });
  state = reduce(state, {
    type: "history",
    conversation: "c1",
    data: { entries: [{ id: "1", kind: "message", from: "customer", text: "hi" }], fields: { state: "assigned" } },
  });
  // The socket replays from last_seen; a reconnect replays what the page already has.
  state = frames(state, message("1", "hi"), message("2", "where is my order?"), message("2", "where is my order?"));
  state = reduce(state, {
    type: "history",
    conversation: "c1",
    data: { entries: [message("1", "hi"), message("2", "where is my order?")] },
  });
  assert.deepEqual(texts(state, "c1"), ["hi", "where is my order?"]);
  assert.equal(lastSeenId(state.conversations.c1), "2");
  assert.equal(conversationOf(state, "c1").state, "assigned");
});

test("a history load that brings unseen entries asks for a fresh transcript element, one that brings none does not", () => {
  let state = signedIn();
  const history = { entries: [{ id: "1", kind: "message", from: "customer", text: "hi" }] };
  state = reduce(state, { type: "history", conversation: "c1", data: history });
  assert.equal(conversationOf(state, "c1").history, 1);
  state = reduce(state, { type: "history", conversation: "c1", data: history });
  assert.equal(conversationOf(state, "c1").history, 1);
  // Live frames never do: they are news, announced in the log on screen.
  state = frames(state, message("2", "anyone?"));
  assert.equal(conversationOf(state, "c1").history, 1);
});

test("my reply shows at once and is replaced in place by the stored entry, even after the ack", () => {
  let state = frames(signedIn(), { type: "hello", presence: "online", capacity: 3, active: ["c1"] });
  state = frames(state, message("1", "hello?"));
  state = reduce(state, {
    type: "sent",
    conversation: "c1",
    entry: { kind: "message", from: "agent", text: "On it", client_id: "agent-x1", pending: true },
  });
  assert.equal(conversationOf(state, "c1").entries[1].pending, true);
  state = frames(state, { type: "ack", conversation: "c1", id: "x1", entry: "2" });
  assert.equal(conversationOf(state, "c1").entries[1].pending, false);
  state = frames(state, message("3", "thanks"), { ...message("2", "On it", "agent"), client_id: "agent-x1" });
  const entries = conversationOf(state, "c1").entries;
  assert.deepEqual(
    entries.map((e) => [e.id, e.text]),
    [["1", "hello?"], ["2", "On it"], ["3", "thanks"]],
  );
});

test("customer messages in a chat not on screen count as unread until it is shown", () => {
  let state = frames(signedIn(), { type: "hello", presence: "online", capacity: 3, active: ["c1", "c2"] });
  state = reduce(state, { type: "select", conversation: "c2" });
  state = frames(state, message("1", "hello?"), message("2", "still there?"), {
    ...message("3", "typing…", "bot"),
  });
  assert.equal(conversationOf(state, "c1").unread, 2);
  state = reduce(state, { type: "select", conversation: "c1" });
  assert.equal(conversationOf(state, "c1").unread, 0);
  state = frames(state, message("4", "ok"));
  assert.equal(conversationOf(state, "c1").unread, 0);
});

test("a claim moves a chat from the queue to my chats and shows it; transfer and close take it out", () => {
  const item = (/** @type {string} */ cid) => ({ conversation: cid, priority: 1, reason_text: "asked for a person", waiting_seconds: 5 });
  let state = frames(
    signedIn(),
    { type: "hello", presence: "online", capacity: 3, active: [] },
    { type: "queue", team: "support", items: [item("a"), item("b")] },
  );
  state = frames(
    state,
    { type: "claimed", conversation: "a", packet: { reason_text: "asked for a person", priority: 1 } },
    { type: "queue", team: "support", items: [item("b")] },
  );
  assert.deepEqual(state.active, ["a"]);
  assert.equal(state.selected, "a");
  assert.equal(conversationOf(state, "a").state, "assigned");
  assert.deepEqual(state.queues.support.items.map((i) => i.conversation), ["b"]);

  state = frames(state, { type: "claimed", conversation: "b", packet: {} }, { type: "queue", team: "support", items: [] });
  assert.deepEqual(state.active, ["a", "b"]);
  state = reduce(state, { type: "action-form", form: "transfer" });
  // Transferred to the team: back in its queue, no longer mine.
  state = frames(state, { type: "transferred", conversation: "a" }, { type: "queue", team: "support", items: [item("a")] });
  assert.deepEqual(state.active, ["b"]);
  assert.equal(state.actionForm, "");
  assert.deepEqual(state.queues.support.items.map((i) => i.conversation), ["a"]);
  // Closed: listed under Closed by me, newest first, each chat once.
  state = frames(state, { type: "closed", conversation: "b" });
  assert.deepEqual(state.active, []);
  assert.deepEqual(state.recent, ["b"]);
  state = frames(state, { type: "claimed", conversation: "a", packet: {} }, { type: "closed", conversation: "a" });
  state = frames(state, { type: "closed", conversation: "b" });
  assert.deepEqual(state.recent, ["b", "a"]);
});

test("the server's `active` list replaces mine (auto-assign, a transfer to me)", () => {
  let state = frames(signedIn(), { type: "hello", presence: "online", capacity: 3, active: ["a"] });
  state = frames(state, { type: "active", conversations: ["a", "z"] });
  assert.deepEqual(state.active, ["a", "z"]);
});

test("presence: a choice made before the socket greets us waits for hello, the server's answer settles it", () => {
  let state = reduce(signedIn(), { type: "presence-asked", status: "online" });
  assert.equal(state.presence, "offline");
  state = frames(state, { type: "hello", presence: "offline", capacity: 3, active: [] });
  // Still to be sent: the hello said offline.
  assert.equal(state.presenceAsked, "online");
  assert.equal(state.greeted, true);
  state = frames(state, { type: "presence", status: "online" });
  assert.equal(state.presence, "online");
  assert.equal(state.presenceAsked, null);
  // A dropped socket is not greeted until the next hello.
  state = reduce(state, { type: "dropped" });
  assert.equal(state.greeted, false);
  assert.equal(state.connection, "reconnecting");
  state = frames(state, { type: "hello", presence: "online", capacity: 3, active: [] });
  assert.equal(state.connection, "");
  assert.equal(state.presenceAsked, null);
});

test("the customer's typing shows until their message arrives or it expires", () => {
  let state = frames(signedIn(), { type: "typing", conversation: "c1", from: "customer", on: true });
  assert.equal(conversationOf(state, "c1").typing, true);
  state = frames(state, message("1", "here it is"));
  assert.equal(conversationOf(state, "c1").typing, false);
  state = frames(state, { type: "typing", conversation: "c1", from: "customer", on: true });
  state = reduce(state, { type: "typing-expired", conversation: "c1" });
  assert.equal(conversationOf(state, "c1").typing, false);
});

test("suggested answers are dropped when another chat is shown or the chat leaves me", () => {
  let state = frames(signedIn(), { type: "hello", presence: "online", capacity: 3, active: ["a", "b"] });
  state = reduce(state, { type: "select", conversation: "a" });
  const data = { message: "refund?", suggestions: [{ key: "faq/refund_time", answer: "5 to 10 days", confidence: 0.9 }] };
  state = reduce(state, { type: "suggestions", conversation: "a", data });
  assert.equal(state.suggestions && state.suggestions.items.length, 1);
  state = reduce(state, { type: "select", conversation: "a" });
  assert.ok(state.suggestions, "showing the same chat again keeps them");
  state = reduce(state, { type: "select", conversation: "b" });
  assert.equal(state.suggestions, null);
  state = reduce(state, { type: "select", conversation: "a" });
  state = reduce(state, { type: "suggestions", conversation: "a", data });
  state = frames(state, { type: "returned", conversation: "a" });
  assert.equal(state.suggestions, null);
  assert.deepEqual(state.active, ["b"]);
});

test("signing out forgets everything", () => {
  let state = frames(signedIn(), { type: "hello", presence: "online", capacity: 3, active: ["a"] });
  state = reduce(state, { type: "signed-out" });
  assert.deepEqual(state, initialState("login"));
});

/**
 * What the transcript says of each message's email, in order.
 * @param {ConsoleState} state
 * @param {string} cid
 */
function emailWords(state, cid) {
  return conversationOf(state, cid).entries.map((e) => emailStatusText(e));
}

const agentMessage = (/** @type {string} */ id, /** @type {Record<string, string>} */ email) => ({
  ...message(id, `reply ${id}`, "agent"),
  ...email,
});

const emailStatus = (/** @type {string} */ entry, /** @type {string} */ status, error = "") => ({
  type: "email_status",
  conversation: "c1",
  entry,
  status,
  ...(error ? { error } : {}),
});

test("an agent's message sent by email shows how its email went, live", () => {
  let state = frames(signedIn(), { type: "hello", presence: "online", capacity: 3, active: ["c1"] });
  state = frames(state, message("1", "hello?"), agentMessage("2", { email_status: "queued" }));
  assert.deepEqual(emailWords(state, "c1"), ["", "Sending by email…"]);
  state = frames(state, emailStatus("2", "queued", "Connection refused"));
  assert.deepEqual(emailWords(state, "c1"), ["", "Not delivered yet — retrying"]);
  state = frames(state, emailStatus("2", "sent"));
  assert.deepEqual(emailWords(state, "c1"), ["", "Emailed"]);
  // A status older than the one shown (frames of two replicas crossing) changes nothing.
  const before = state;
  state = frames(state, emailStatus("2", "queued", "Connection refused"));
  assert.equal(conversationOf(state, "c1"), conversationOf(before, "c1"));
  // Sent, then bounced back by the customer's provider.
  state = frames(state, emailStatus("2", "failed", "Bounced: 550 5.1.1 mailbox unavailable"));
  assert.deepEqual(emailWords(state, "c1"), ["", "Bounced: 550 5.1.1 mailbox unavailable"]);
});

test("a refused email says why, and a status told before its message is shown when it comes", () => {
  let state = frames(signedIn(), { type: "hello", presence: "online", capacity: 3, active: ["c1"] });
  state = frames(state, emailStatus("3", "failed", "Refused: 550 5.1.1 No such user"));
  assert.deepEqual(emailWords(state, "c1"), []);
  state = frames(state, agentMessage("3", { email_status: "queued" }));
  assert.deepEqual(emailWords(state, "c1"), ["Failed: 550 5.1.1 No such user"]);
  state = frames(state, agentMessage("4", { email_status: "failed", email_error: "Email is off on this service." }));
  assert.equal(emailWords(state, "c1")[1], "Failed: Email is off on this service.");
});

test("a reload brings the email's status it has now, and a customer's email is marked as one", () => {
  let state = frames(signedIn(), { type: "hello", presence: "online", capacity: 3, active: ["c1"] });
  state = frames(state, agentMessage("2", { email_status: "queued" }));
  // The page loaded the chat again (select with reload): the socket missed the status change.
  state = reduce(state, {
    type: "history",
    conversation: "c1",
    data: {
      entries: [
        agentMessage("2", { email_status: "sent" }),
        { ...message("5", "Thanks!"), channel: "email" },
      ],
    },
  });
  const entries = conversationOf(state, "c1").entries;
  assert.deepEqual(emailWords(state, "c1"), ["Emailed", ""]);
  assert.deepEqual(
    entries.map((e) => e.channel || ""),
    ["", "email"],
  );
});

test("the note that the customer's missed messages were emailed shows that email's status", () => {
  let state = frames(signedIn(), { type: "hello", presence: "online", capacity: 3, active: ["c1"] });
  const note = {
    type: "event",
    conversation: "c1",
    id: "7",
    kind: "event",
    from: "system",
    text: "We emailed you the messages you missed.",
    event: "missed_messages_emailed",
    email_status: "queued",
    at: 1,
  };
  state = frames(state, note, emailStatus("7", "sent"));
  assert.deepEqual(emailWords(state, "c1"), ["Emailed"]);
});
