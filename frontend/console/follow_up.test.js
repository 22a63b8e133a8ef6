import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "../common/api.js";
import { FollowUpControl, createFollowUpLoader, followUpReducer, followUpText } from "./follow_up.js";

const DUE = Date.UTC(2026, 11, 9, 12);

/** @param {Record<string, any>} extra @returns {any} */
const followUp = (extra) => ({ id: "f1", state: "scheduled", due_at: DUE, days: 3, by: "ann", ...extra });

test("a follow-up in words, whatever became of it", () => {
  assert.equal(followUpText(null), "No follow-up email is scheduled.");
  assert.equal(followUpText(followUp({})), "Follow-up email scheduled for Wednesday 9 December.");
  assert.match(followUpText(followUp({ by: "rule:order_delayed" })), /automatically, for a delayed order/);
  assert.equal(followUpText(followUp({ state: "sent", sent_at: DUE })), "Follow-up email sent on Wednesday 9 December; no answer yet.");
  assert.equal(
    followUpText(followUp({ state: "rated", rating: 4 })),
    "The customer answered the follow-up email: 4 of 5 (mostly resolved).",
  );
  assert.equal(followUpText(followUp({ state: "cancelled" })), "The follow-up email was cancelled.");
  // One skipped before the reasons were told apart: no reason guessed.
  assert.equal(followUpText(followUp({ state: "skipped", skipped: "no conversation or email" })), "The follow-up email was not sent.");
});

test("the loader asks the API and keeps the answer by chat; a refusal is kept in words", async () => {
  /** @type {any[]} */
  const calls = [];
  /** @type {Record<string, any>} */
  let panels = {};
  let epoch = 0;
  /** @type {(method: string, path: string, body?: unknown) => Promise<any>} */
  let answer = async () => ({ follow_up: followUp({}) });
  const loader = createFollowUpLoader({
    api: (method, path, body) => {
      calls.push([method, path, body]);
      return answer(method, path, body);
    },
    dispatch: (action) => {
      panels = followUpReducer(panels, action);
    },
    current: () => epoch,
  });
  await loader.schedule("c/1", 3);
  assert.deepEqual(calls[0], ["POST", "/api/conversations/c%2F1/follow-up", { days: 3 }]);
  assert.equal(panels["c/1"].followUp.state, "scheduled");
  assert.equal(panels["c/1"].busy, false);

  answer = async () => {
    throw new ApiError("The customer gave no email address, so no follow-up can be sent.", 400, {});
  };
  await loader.schedule("c/1", 3);
  assert.match(panels["c/1"].message, /no email address/);
  assert.equal(panels["c/1"].followUp.state, "scheduled"); // what was known stays

  // An answer that comes after a sign-out is dropped.
  answer = async () => {
    epoch += 1;
    return { follow_up: null };
  };
  await loader.cancel("c/1");
  assert.equal(panels["c/1"].followUp.state, "scheduled");
  assert.equal(calls[2][0], "DELETE");
});

test("a skipped follow-up says why: the chat no longer kept is not a missing address", () => {
  assert.equal(followUpText(followUp({ state: "skipped", skipped: "chat_gone" })), "The follow-up email was not sent: the chat was no longer kept.");
  assert.doesNotMatch(followUpText(followUp({ state: "skipped", skipped: "chat_gone" })), /email address/);
  assert.equal(followUpText(followUp({ state: "skipped", skipped: "no_email" })), "The follow-up email was not sent: there was no email address to send it to.");
});

/**
 * The elements of a rendered view with an id (the component's tree of Preact vnodes).
 * @param {any} node
 * @param {Record<string, any>} [found]
 * @returns {Record<string, any>}
 */
function byId(node, found = {}) {
  if (Array.isArray(node)) node.forEach((child) => byId(child, found));
  else if (node && typeof node === "object" && node.props) {
    if (node.props.id) found[node.props.id] = node;
    byId(node.props.children, found);
  }
  return found;
}

/**
 * The control as the console draws it for a customer with an email address, after the server
 * answered `max_days`; what an agent submits with `typed` in the days box.
 * @param {number | null} maxDays
 * @param {string} typed
 */
function control(maxDays, typed = "") {
  /** @type {Record<string, any>} */
  let panels = {};
  panels = followUpReducer(panels, { type: "follow-up", conversation: "c1", followUp: null, maxDays });
  /** @type {number[]} */
  const asked = [];
  const act = { scheduleFollowUp: (/** @type {string} */ _cid, /** @type {number} */ days) => asked.push(days), cancelFollowUp: () => {} };
  const view = byId(FollowUpControl({ cid: "c1", panel: panels.c1, email: true, act }));
  const form = { elements: { namedItem: () => ({ value: typed }) } };
  view["follow-up"].props.onSubmit({ preventDefault: () => {}, currentTarget: form });
  return { view, asked, status: view["follow-up-status"].props.children };
}

test("the days offered are those the server allows, from its max_days", () => {
  const usual = control(28);
  assert.equal(usual.view["follow-up-days"].props.max, 28);
  assert.equal(usual.view["follow-up-days"].props.value, "3");
  // Closed chats kept 5 days here: 1 to 5 offered, and a typed 20 asks for no more than 5.
  const short = control(5, "20");
  assert.equal(short.view["follow-up-days"].props.min, "1");
  assert.equal(short.view["follow-up-days"].props.max, 5);
  assert.equal(short.view["follow-up-days"].props.disabled, false);
  assert.deepEqual(short.asked, [5]);
  // Kept 2 days: the box starts at 2, not at the usual 3 the server would refuse.
  assert.equal(control(2).view["follow-up-days"].props.value, "2");
  assert.deepEqual(control(2).asked, [2]);
  // Kept less than a day: nothing to offer, and the agent is told why.
  const none = control(0);
  assert.equal(none.view["follow-up-days"].props.disabled, true);
  assert.equal(none.view["follow-up-schedule"].props.disabled, true);
  assert.equal(none.status, "No follow-up possible: closed chats are kept less than a day here.");
});

test("nothing is offered before the server has said which days it allows; a later answer without them keeps them", () => {
  const before = FollowUpControl({
    cid: "c1",
    panel: undefined,
    email: true,
    act: { scheduleFollowUp: () => {}, cancelFollowUp: () => {} },
  });
  assert.equal(byId(before)["follow-up-schedule"].props.disabled, true);
  /** @type {Record<string, any>} */
  let panels = followUpReducer({}, { type: "follow-up", conversation: "c1", followUp: null, maxDays: 7 });
  panels = followUpReducer(panels, { type: "follow-up", conversation: "c1", followUp: followUp({}), maxDays: null });
  assert.equal(panels.c1.maxDays, 7);
});

test("the loader keeps the server's max_days with the chat's follow-up", async () => {
  /** @type {Record<string, any>} */
  let panels = {};
  const loader = createFollowUpLoader({
    api: async () => ({ follow_up: null, max_days: 6 }),
    dispatch: (action) => {
      panels = followUpReducer(panels, action);
    },
    current: () => 0,
  });
  await loader.load("c1");
  assert.equal(panels.c1.maxDays, 6);
  assert.equal(control(panels.c1.maxDays).view["follow-up-days"].props.max, 6);
});
