import { test } from "node:test";
import assert from "node:assert/strict";
import { claimFailedText, freshArrivals, queueItems, waitedFor, waitingCount } from "./queue.js";

const item = (/** @type {string} */ cid, seconds = 0) => ({ conversation: cid, waiting_seconds: seconds });

test("the queue lists team by team in arrival order, each in the server's order", () => {
  const queues = {
    support: { items: [item("s1"), item("s2")], at: 0 },
    billing: { items: [item("b1")], at: 0 },
  };
  assert.deepEqual(
    queueItems(queues).map((w) => `${w.team}/${w.item.conversation}`),
    ["support/s1", "support/s2", "billing/b1"],
  );
  // A chat listed for two teams (an admin sees both) waits once.
  assert.equal(waitingCount({ ...queues, vip: { items: [item("s1")], at: 0 } }), 3);
});

test("a wait counts on from the server's figure at the time its frame arrived", () => {
  assert.equal(waitedFor(item("a", 42), 10_000, 10_000), "42s");
  assert.equal(waitedFor(item("a", 42), 10_000, 30_000), "1m 2s");
  assert.equal(waitedFor(item("a", 3590), 0, 20_000), "1h 0m");
  // A clock that reads earlier than the frame does not count backwards.
  assert.equal(waitedFor(item("a", 5), 10_000, 9_000), "5s");
});

test("new chats are those not seen waiting before; the first queue frame alerts nobody", () => {
  const queues = { support: { items: [item("a"), item("b")], at: 0 } };
  assert.deepEqual(freshArrivals(null, queues), []);
  assert.deepEqual(
    freshArrivals({ a: true }, queues).map((i) => i.conversation),
    ["b"],
  );
  assert.deepEqual(freshArrivals({ a: true, b: true }, queues), []);
});

test("a lost claim says who won, or why", () => {
  assert.equal(claimFailedText({ reason: "taken", winner: "Sam Lee" }), "Claimed by Sam Lee.");
  assert.equal(claimFailedText({ reason: "taken", winner: "" }), "Someone else claimed it first.");
  assert.equal(claimFailedText({ reason: "capacity" }), "You're at capacity; close a chat first.");
  assert.equal(claimFailedText({ reason: "not_queued:closed" }), "Couldn't claim this chat (now closed).");
});
