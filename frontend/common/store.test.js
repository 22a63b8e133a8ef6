import { test } from "node:test";
import assert from "node:assert/strict";
import { createStore } from "./store.js";

test("listeners hear each change once and not an action that changed nothing", () => {
  /** @param {{n: number}} state @param {string} action */
  const reducer = (state, action) => (action === "add" ? { n: state.n + 1 } : state);
  const store = createStore(reducer, { n: 0 });
  /** @type {number[]} */
  const heard = [];
  const stop = store.subscribe((state) => heard.push(state.n));
  store.dispatch("add");
  store.dispatch("noop");
  store.dispatch("add");
  stop();
  store.dispatch("add");
  assert.deepEqual(heard, [1, 2]);
  assert.equal(store.get().n, 3);
});
