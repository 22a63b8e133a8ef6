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

test("the time left reads as minutes and seconds, or how long overdue", async () => {
  const q = await import("./queue.js");
  assert.equal(q.timeLeftText(130), "2:10 left");
  assert.equal(q.timeLeftText(0.4), "0:01 left");
  assert.equal(q.timeLeftText(0), "Overdue 0:00");
  assert.equal(q.timeLeftText(-45.7), "Overdue 0:45");
  assert.equal(q.timeLeftText(3723), "1:02:03 left");
  assert.equal(q.timeLeftText(-3600), "Overdue 1:00:00");
});

test("a waiting chat counts its first response down from the frame's arrival", async () => {
  const q = await import("./queue.js");
  const waiting = { conversation: "a", waiting_seconds: 20, target_seconds: 60 };
  assert.equal(q.queueLeft(waiting, 1_000, 1_000), 40);
  assert.equal(q.queueLeft(waiting, 1_000, 41_000), 0);
  assert.equal(q.queueLeft(waiting, 1_000, 46_000), -5);
  assert.equal(q.queueLeft({ conversation: "b", waiting_seconds: 3 }, 0, 0), null);
  // A clock that reads earlier than the frame does not count up.
  assert.equal(q.queueLeft(waiting, 10_000, 9_000), 40);
});

test("a chat is overdue once its time left reaches zero; the colour agrees with the words", async () => {
  const q = await import("./queue.js");
  assert.equal(q.isOverdue(null), false);
  assert.equal(q.isOverdue(0.5), false);
  assert.equal(q.isOverdue(0), true);
  assert.equal(q.isOverdue(-3), true);
  assert.equal(q.dueTone(100, 120), "ok");
  assert.equal(q.dueTone(30, 120), "soon");
  assert.equal(q.dueTone(9, 20), "soon"); // the last 10 s are always "soon"
  assert.equal(q.dueTone(-1, 120), "over");
});

test("My chats count the reply owed down from the mine frame; titles come from the server", async () => {
  const q = await import("./queue.js");
  const s = await import("./state.js");
  const cid = "c".repeat(32);
  let state = s.reduce(s.initialState("app"), {
    type: "frame",
    at: 5_000,
    frame: {
      type: "mine",
      chats: [
        { conversation: cid, title: "Ada Lovelace", priority: 4, due: { kind: "next", target_seconds: 40, left_seconds: 12, started_at: 1 } },
        { conversation: "d".repeat(32), title: "Visitor 7F3K", priority: 1, due: null },
      ],
    },
  });
  assert.equal(q.mineLeft(state.mine[cid], 5_000), 12);
  assert.equal(q.mineLeft(state.mine[cid], 20_000), -3);
  assert.equal(q.mineLeft(state.mine["d".repeat(32)], 20_000), null);
  assert.equal(q.mineLeft(undefined, 0), null);
  assert.equal(q.titleOf(state, cid), "Ada Lovelace");
  assert.equal(q.titleOf(state, "d".repeat(32)), "Visitor 7F3K");
  // A queued chat's title comes with its queue item; a loaded chat's with its history.
  state = s.reduce(state, { type: "frame", at: 0, frame: { type: "queue", team: "support", items: [{ conversation: "e".repeat(32), title: "Visitor AB12" }] } });
  assert.equal(q.titleOf(state, "e".repeat(32)), "Visitor AB12");
  state = s.reduce(state, { type: "history", conversation: "f".repeat(32), data: { title: "Grace Hopper", entries: [] } });
  assert.equal(q.titleOf(state, "f".repeat(32)), "Grace Hopper");
  // Nothing known yet: the id's start.
  assert.equal(q.titleOf(state, "0123456789abcdef0123456789abcdef"), "Chat 01234567");
  // The next mine frame replaces the list: a chat no longer mine is gone from it.
  state = s.reduce(state, { type: "frame", at: 0, frame: { type: "mine", chats: [] } });
  assert.equal(state.mine[cid], undefined);
});
