import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "../common/api.js";
import { createFollowUpLoader, followUpReducer, followUpText } from "./follow_up.js";

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
  assert.match(followUpText(followUp({ state: "skipped" })), /no email address/);
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
