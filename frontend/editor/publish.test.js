import { test } from "node:test";
import assert from "node:assert/strict";
import { initialState, reduce, resultOf, stepStates } from "./state.js";

/** @typedef {import("./state.js").EditorState} EditorState */

const running = (/** @type {Record<string, any>[]} */ events, actor = "erin") => ({
  id: "job-1",
  kind: "publish",
  actor,
  state: "running",
  events,
  next: events.length,
});
const progress = (/** @type {number} */ percent, /** @type {string} */ step, message = "") => ({
  event: "progress",
  percent,
  step,
  message,
});

test("a publish shows its progress step by step and ends with everything done", () => {
  let state = reduce(initialState("app"), { type: "job-starting", kind: "publish" });
  assert.deepEqual(state.progress, { shown: true, percent: 0, step: "validate", message: "Starting…", finished: false });
  assert.deepEqual(stepStates(state.progress), ["current", "", "", ""]);

  state = reduce(state, { type: "job-update", job: running([progress(12.4, "validate"), progress(40, "train", "Training the model")]) });
  assert.deepEqual(state.publishing, { kind: "publish", actor: "erin" });
  assert.equal(state.progress.percent, 40);
  assert.equal(state.progress.message, "Training the model");
  assert.deepEqual(stepStates(state.progress), ["done", "current", "", ""]);
  // An event without a message keeps the last one; non-progress events change nothing.
  state = reduce(state, { type: "job-update", job: running([progress(75.6, "check"), { event: "log", line: "…" }]) });
  assert.equal(state.progress.percent, 76);
  assert.equal(state.progress.message, "Training the model");
  assert.deepEqual(stepStates(state.progress), ["done", "done", "current", ""]);

  state = reduce(state, {
    type: "job-update",
    job: { id: "job-1", kind: "publish", state: "done", events: [], result: { ok: true, seconds: 63.7, live_model: "harbor-0002" } },
  });
  assert.equal(state.publishing, null);
  assert.equal(state.progress.percent, 100);
  assert.deepEqual(stepStates(state.progress), ["done", "done", "done", "done"]);
  assert.deepEqual(state.result, { ok: true, title: "Publish done in 64 s.", lines: ["Live model: harbor-0002"], worse: [] });
});

test("percentages outside 0-100 are clamped", () => {
  let state = reduce(initialState("app"), { type: "job-update", job: running([progress(140, "swap")]) });
  assert.equal(state.progress.percent, 100);
  state = reduce(state, { type: "job-update", job: running([progress(-3, "validate")]) });
  assert.equal(state.progress.percent, 0);
});

test("a publish the checks stopped says why and which topics got worse; the bar stays where it stopped", () => {
  let state = reduce(initialState("app"), { type: "job-update", job: running([progress(80, "check")]) });
  state = reduce(state, {
    type: "job-update",
    job: {
      id: "job-1",
      kind: "publish",
      state: "failed",
      events: [],
      result: {
        ok: false,
        errors: [{ message: "Held-out accuracy fell." }, "tool exited"],
        worse_topics: [{ topic: "refund_time", before: 0.95, after: 0.7 }],
      },
    },
  });
  assert.equal(state.progress.percent, 80);
  assert.deepEqual(stepStates(state.progress), ["done", "done", "current", ""]);
  assert.deepEqual(state.result, {
    ok: false,
    title: "Publish stopped. The live assistant was not changed.",
    lines: ["Held-out accuracy fell.", "tool exited"],
    worse: [{ topic: "refund_time", before: 0.95, after: 0.7 }],
  });
});

test("a second publisher is refused and shown who is publishing", () => {
  let state = reduce(initialState("app"), { type: "job-starting", kind: "publish" });
  state = reduce(state, { type: "job-refused", message: "erin is running a publish." });
  assert.equal(state.progress.shown, false);
  assert.deepEqual(state.result, { ok: false, title: "erin is running a publish.", lines: [], worse: [] });
  state = reduce(state, { type: "job-update", job: running([progress(30, "train")]) });
  assert.deepEqual(state.publishing, { kind: "publish", actor: "erin" });
  assert.equal(state.progress.shown, true);
  // The job could not be read any more: nobody is shown as publishing.
  state = reduce(state, { type: "job-update", job: null });
  assert.equal(state.publishing, null);
});

test("a rollback speaks of itself", () => {
  const state = reduce(initialState("app"), { type: "job-starting", kind: "rollback" });
  assert.equal(state.progress.message, "Starting the rollback…");
  assert.equal(resultOf({ id: "j", kind: "rollback", result: { ok: true, model: "harbor-initial" } }).title, "Rollback done.");
  assert.deepEqual(resultOf({ id: "j", kind: "rollback", result: { ok: true, model: "harbor-initial" } }).lines, [
    "Live model: harbor-initial",
  ]);
});
