import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BAD_EMAIL,
  NO_MESSAGE,
  connectionText,
  initialState,
  leaveErrors,
  queueText,
  reduce,
  statusText,
  typingText,
  unconfirmed,
} from "./state.js";
import { MAX_CACHED, emptySaved } from "./storage.js";

/**
 * @typedef {import("./state.js").WidgetState} WidgetState
 * @typedef {import("./state.js").Action} Action
 * @typedef {import("./state.js").Entry} Entry
 */

const NOW = 1_700_000_000_000;

/**
 * @param {WidgetState} state
 * @param {...Action} actions
 */
function run(state, ...actions) {
  return actions.reduce(reduce, state);
}

const fresh = () => initialState(emptySaved());

/** @param {Record<string, any>} frame @returns {Action} */
const live = (frame) => ({ type: "frame", frame: { type: "event", ...frame }, now: NOW });

/** @param {string} id @param {string} text @param {Record<string, any>} [extra] */
const bot = (id, text, extra = {}) => ({ id, kind: "message", from: "bot", text, at: NOW, ...extra });
/** @param {string} id @param {string} text @param {Record<string, any>} [extra] */
const agent = (id, text, extra = {}) =>
  ({ id, kind: "message", from: "agent", agent_name: "Jordan Lee", text, at: NOW, ...extra });
/** @param {string} id @param {string} to @param {Record<string, any>} [extra] */
const stateEvent = (id, to, extra = {}) =>
  ({ id, kind: "event", from: "system", event: "state", state: to, text: "", at: NOW, ...extra });

/** What the log shows, one line per entry, in order. @param {WidgetState} state */
function shown(state) {
  return state.entries.map((entry) => {
    switch (entry.kind) {
      case "message":
        return `${entry.from}: ${entry.text}`;
      case "system":
        return `system: ${entry.text}`;
      case "quick":
        return `quick: ${entry.buttons.map((b) => b.title).join(" | ")}`;
      default:
        return `form: ${entry.kind}`;
    }
  });
}

test("an entry the service sends again is shown once, live or replayed after a reload", () => {
  const once = run(fresh(), live(bot("1-0", "Hello")), live(bot("1-0", "Hello")));
  assert.deepEqual(shown(once), ["bot: Hello"]);
  const replayed = reduce(once, {
    type: "replay",
    frames: [bot("1-0", "Hello"), bot("2-0", "Anything else?")],
    now: NOW,
  });
  assert.deepEqual(shown(replayed), ["bot: Hello", "bot: Anything else?"]);
  // A frame without an id cannot be told apart from its replay: it is not shown at all.
  assert.equal(reduce(replayed, live({ kind: "message", from: "bot", text: "?" })), replayed);
});

test("entries keep their arrival order and their keys; a confirmed message stays where it was typed", () => {
  const typed = run(fresh(), { type: "send", clientId: "c1", text: "Typed offline", shown: "Typed offline", at: NOW });
  const key = typed.entries[0].key;
  assert.deepEqual(unconfirmed(typed), [{ clientId: "c1", text: "Typed offline" }]);
  const after = run(
    typed,
    live(agent("5-0", "Sent while you were offline")),
    live({ id: "6-0", kind: "message", from: "customer", client_id: "c1", text: "Typed offline", at: NOW + 5 }),
  );
  assert.deepEqual(shown(after), [
    "customer: Typed offline",
    "system: You are now chatting with Jordan Lee",
    "agent: Sent while you were offline",
  ]);
  const confirmed = after.entries[0];
  assert.equal(confirmed.key, key);
  assert.ok(confirmed.kind === "message");
  assert.equal(confirmed.id, "6-0");
  assert.equal(confirmed.delivery, "");
  assert.equal(confirmed.at, NOW + 5);
  assert.deepEqual(unconfirmed(after), []);
  const keys = after.entries.map((entry) => entry.key);
  assert.equal(new Set(keys).size, keys.length);
});

test("a quick reply's title is shown and its payload is what gets sent", () => {
  const state = run(fresh(), { type: "send", clientId: "c2", text: "/track_order", shown: "Track my order", at: NOW });
  assert.deepEqual(shown(state), ["customer: Track my order"]);
  assert.deepEqual(unconfirmed(state), [{ clientId: "c2", text: "/track_order" }]);
});

test("quick replies go once the customer says something, and only the bot's latest stay", () => {
  const offered = run(fresh(), live(bot("1-0", "What can I do for you?", {
    buttons: [{ title: "Track my order", payload: "/track" }, { title: "Returns" }, { nonsense: true }],
  })));
  assert.deepEqual(shown(offered), ["bot: What can I do for you?", "quick: Track my order | Returns"]);
  const quick = offered.entries[1];
  assert.ok(quick.kind === "quick");
  assert.deepEqual(quick.buttons[1], { title: "Returns", payload: "Returns" });

  const typed = reduce(offered, { type: "send", clientId: "c1", text: "hi", shown: "hi", at: NOW });
  assert.deepEqual(shown(typed), ["bot: What can I do for you?", "customer: hi"]);
  // The customer's message echoed from another tab or a replay removes them as well.
  const echoed = reduce(offered, live({ id: "2-0", kind: "message", from: "customer", text: "hi", at: NOW }));
  assert.deepEqual(shown(echoed), ["bot: What can I do for you?", "customer: hi"]);

  const kept = reduce(offered, live(bot("3-0", "Take your time.")));
  assert.deepEqual(shown(kept).at(-1), "bot: Take your time.");
  assert.ok(kept.entries.some((entry) => entry.kind === "quick"));
  const replaced = reduce(kept, live(bot("4-0", "Which order?", { buttons: [{ title: "1042" }] })));
  assert.deepEqual(shown(replaced).filter((line) => line.startsWith("quick")), ["quick: 1042"]);
});

test("queued, with an agent, closed: status, queue place, forms and composer follow", () => {
  let state = run(
    fresh(),
    live({ id: "1-0", kind: "event", from: "system", event: "offer_leave_message", text: "Nobody is free right now." }),
  );
  assert.ok(state.leave);
  assert.deepEqual(shown(state), ["system: Nobody is free right now.", "form: leave"]);

  state = run(state, live(stateEvent("2-0", "queued", { text: "Finding someone for you." })));
  assert.equal(state.chat, "queued");
  assert.equal(statusText(state), "Waiting for a person");
  assert.equal(state.leave, null, "a queued customer is not asked to leave a message");
  assert.deepEqual(shown(state), ["system: Nobody is free right now.", "system: Finding someone for you."]);
  assert.equal(queueText(state.queue).place, "You're in the queue for a person.");
  state = reduce(state, { type: "queue", position: 1, estimateSeconds: 30 });
  assert.deepEqual(queueText(state.queue), {
    place: "You're next in line for a person.",
    wait: "Estimated wait: less than a minute",
  });
  assert.equal(queueText({ position: 3, estimateSeconds: 170 }).place, "You're number 3 in line for a person.");

  state = reduce(state, live(stateEvent("3-0", "assigned", { agent_name: "Jordan Lee" })));
  assert.equal(state.chat, "assigned");
  assert.equal(statusText(state), "Chatting with Jordan Lee");
  assert.equal(state.queue, null, "the place in the queue is forgotten once out of it");
  // The agent's first message does not announce the same agent twice.
  state = reduce(state, live(agent("4-0", "Hi, I'm Jordan.")));
  assert.deepEqual(shown(state).slice(-2), ["system: You are now chatting with Jordan Lee", "agent: Hi, I'm Jordan."]);
  assert.equal(shown(state).filter((line) => line.includes("now chatting")).length, 1);

  state = reduce(state, live(stateEvent("5-0", "closed", { data: { ask_rating: true } })));
  assert.equal(state.chat, "closed");
  assert.equal(statusText(state), "Chat ended");
  assert.deepEqual(shown(state).slice(-2), ["system: This chat has ended.", "form: rating"]);
  assert.ok(state.rating && state.transcriptLink);

  state = reduce(state, live({ id: "6-0", kind: "event", from: "system", event: "rated", text: "" }));
  assert.equal(state.rating, null);
  assert.deepEqual(shown(state).at(-1), "system: Thanks for your feedback!");
  assert.ok(state.transcriptLink, "the transcript stays downloadable after the rating");
});

test("back with the assistant: the agent is forgotten and the line says so", () => {
  const state = run(
    fresh(),
    live(stateEvent("1-0", "assigned", { data: { agent_name: "Sam" } })),
    live(stateEvent("2-0", "bot", { text: "Agent left" })),
  );
  assert.equal(state.agentName, "");
  assert.equal(statusText(state), "Assistant · usually replies instantly");
  assert.deepEqual(shown(state), ["system: You are now chatting with Sam", "system: You're back with the assistant"]);
});

test("typing: the assistant's or the agent's, cleared by their message", () => {
  let state = run(fresh(), { type: "typing", on: true, from: "bot" });
  assert.equal(typingText(state), "Assistant is typing…");
  state = run(state, live(bot("1-0", "echo")));
  assert.equal(typingText(state), "");
  state = run(state, live(stateEvent("2-0", "assigned", { agent_name: "Jordan Lee" })), { type: "typing", on: true, from: "agent" });
  assert.equal(typingText(state), "Jordan Lee is typing…");
  assert.equal(typingText(reduce(state, { type: "typing_expired" })), "");
});

test("ack, refusal and the resend list", () => {
  const state = run(
    fresh(),
    { type: "send", clientId: "a", text: "one", shown: "one", at: NOW },
    { type: "send", clientId: "b", text: "two", shown: "two", at: NOW },
    { type: "ack", id: "a" },
    { type: "error", frame: { type: "error", code: "too_long", id: "b", message: "Too long." } },
  );
  const [one, two] = state.entries;
  assert.ok(one.kind === "message" && two.kind === "message");
  assert.equal(one.delivery, "", "acknowledged: no longer marked as sending");
  assert.equal(two.delivery, "failed");
  // Acknowledged but not yet echoed: still resent after a reconnect (stored once by id).
  assert.deepEqual(unconfirmed(state), [{ clientId: "a", text: "one" }]);
  assert.equal(state.notice.text, "Too long.");
  assert.equal(reduce(state, { type: "notice_expired", serial: state.notice.serial }).notice.text, "");
  assert.equal(
    reduce(state, { type: "notice_expired", serial: state.notice.serial - 1 }).notice.text,
    "Too long.",
    "an older notice's timer does not hide a newer notice",
  );
});

test("an error lets a form that was being sent be sent again", () => {
  let state = run(
    fresh(),
    live({ id: "1-0", kind: "event", from: "system", event: "offer_leave_message" }),
    { type: "leave_field", field: "email", value: "pat@example.com" },
    { type: "leave_sending" },
  );
  assert.equal(state.leave?.sending, true);
  state = reduce(state, { type: "error", frame: { type: "error", code: "bad_email" } });
  assert.equal(state.leave?.sending, false);
  assert.equal(state.leave?.email, "pat@example.com", "what the customer typed is kept");
  assert.equal(state.notice.text, "Something went wrong.");
});

test("a welcome to another conversation starts over; the same one resumes", () => {
  const saved = { ...emptySaved(), token: "t1", conversation: "conv-1", lastSeen: "1-0", entries: [bot("1-0", "Hello")] };
  const start = reduce(initialState(saved), { type: "replay", frames: saved.entries, now: NOW });
  const resumed = reduce(start, { type: "welcome", frame: { type: "welcome", conversation: "conv-1", token: "t2", state: "bot", max_message_chars: 500 } });
  assert.deepEqual(shown(resumed), ["bot: Hello"]);
  assert.equal(resumed.token, "t2");
  assert.equal(resumed.maxChars, 500);
  assert.equal(resumed.connection.status, "online");
  const other = reduce(start, { type: "welcome", frame: { type: "welcome", conversation: "conv-2", token: "t3", state: "bot" } });
  assert.deepEqual(shown(other), []);
  assert.equal(other.conversation, "conv-2");
  assert.equal(other.lastSeen, null);
  assert.deepEqual(other.cache, []);
  // The old conversation's entries may be drawn again in the new one (ids are per conversation).
  assert.deepEqual(shown(reduce(other, live(bot("1-0", "Hi again")))), ["bot: Hi again"]);
});

test("a refused token forgets the chat", () => {
  const state = run(
    initialState({ ...emptySaved(), token: "stale", conversation: "c" }),
    live(bot("1-0", "Hello")),
    { type: "error", frame: { type: "error", code: "token_refused", message: "Expired" } },
  );
  assert.equal(state.token, null);
  assert.deepEqual(state.entries, []);
  assert.equal(state.notice.text, "", "starting over is not an error the customer must read");
});

test("live entries are cached for the next page and mark the closed panel unread; replays are not", () => {
  let state = fresh();
  for (let i = 0; i < MAX_CACHED + 5; i += 1) state = reduce(state, live(bot(`${i}-0`, `m${i}`)));
  assert.equal(state.cache.length, MAX_CACHED);
  assert.equal(state.cache[0].id, "5-0");
  assert.equal(state.lastSeen, `${MAX_CACHED + 4}-0`);
  assert.equal(state.unread, true);
  assert.equal(reduce(state, { type: "open" }).unread, false);

  const replayed = reduce(fresh(), { type: "replay", frames: [bot("1-0", "Hello")], now: NOW });
  assert.equal(replayed.unread, false);
  assert.deepEqual(replayed.cache, []);
  const ownMessage = reduce(fresh(), live({ id: "1-0", kind: "message", from: "customer", text: "hi" }));
  assert.equal(ownMessage.unread, false);
});

test("the connection banner: silent before any chat, then offline or lost with a countdown", () => {
  const firstVisit = reduce(fresh(), { type: "retry_scheduled", delay: 500, wait: 400, offline: false, now: NOW });
  assert.equal(firstVisit.connection.shown, false);
  assert.equal(firstVisit.connection.status, "");
  assert.equal(firstVisit.connection.backoff, 500);

  const chatting = reduce(fresh(), { type: "welcome", frame: { type: "welcome", conversation: "c", token: "t" } });
  const offline = reduce(chatting, { type: "retry_scheduled", delay: 2000, wait: 3500, offline: true, now: NOW });
  assert.equal(offline.connection.status, "offline");
  assert.equal(offline.connection.shown, true);
  assert.equal(connectionText(offline.connection, NOW), "You're offline. Reconnecting in 4 s…");
  assert.equal(connectionText(offline.connection, NOW + 3000), "You're offline. Reconnecting in 1 s…");
  assert.equal(connectionText(offline.connection, NOW + 9000), "You're offline. Reconnecting in 1 s…");
  const lost = reduce(chatting, { type: "retry_scheduled", delay: 500, wait: 500, offline: false, now: NOW });
  assert.equal(connectionText(lost.connection, NOW), "Connection lost. Reconnecting in 1 s…");
  const back = reduce(offline, { type: "welcome", frame: { type: "welcome", conversation: "c", token: "t" } });
  assert.equal(back.connection.status, "online");
  assert.equal(back.connection.shown, false);
});

test("text from the network is kept as text, whatever it looks like", () => {
  const xss = '<img src=x onerror="window.__xss=1">';
  const state = reduce(fresh(), live(agent("1-0", xss, { agent_name: "<b>Mallory</b>" })));
  assert.deepEqual(shown(state), ["system: You are now chatting with <b>Mallory</b>", `agent: ${xss}`]);
});

test("the leave-a-message form refuses an address that does not look like one", () => {
  assert.deepEqual(leaveErrors("pat-at-example", "Call me"), { emailError: BAD_EMAIL, textError: "" });
  assert.deepEqual(leaveErrors(" pat@example.com ", "  "), { emailError: "", textError: NO_MESSAGE });
  assert.deepEqual(leaveErrors("pat@example.c", "x"), { emailError: BAD_EMAIL, textError: "" });
  assert.deepEqual(leaveErrors("pat@example.com", "Call me"), { emailError: "", textError: "" });
});

test("the assistant's news of the customer's order opens the chat once; a replay does not", () => {
  const news = bot("7-0", "Welcome back. Before you ask: your order HG-10029 is delayed.", {
    data: { proactive: "delayed", order: "HG-10029" },
    buttons: [{ title: "Talk to a person", payload: "I want to talk to a person" }],
  });
  const told = reduce(fresh(), live(news));
  assert.equal(told.open, true);
  assert.equal(told.unread, false);
  assert.deepEqual(shown(told), [`bot: ${news.text}`, "quick: Talk to a person"]);
  // Closed again by the customer: the same entry replayed after a reload leaves it closed.
  const closed = reduce(told, { type: "close" });
  assert.equal(reduce(closed, live(news)).open, false);
  const reloaded = reduce(fresh(), { type: "replay", frames: [news], now: NOW });
  assert.equal(reloaded.open, false);
  // Any other message of the assistant only marks the closed panel unread.
  const plain = reduce(fresh(), live(bot("8-0", "Hello")));
  assert.equal(plain.open, false);
  assert.equal(plain.unread, true);
});
