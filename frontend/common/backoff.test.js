import { test } from "node:test";
import assert from "node:assert/strict";
import { jittered, nextDelay } from "./backoff.js";

const limits = { min: 500, max: 10000 };

test("reconnect delays double from the minimum and stop at the maximum", () => {
  const delays = [];
  let delay = 0;
  for (let i = 0; i < 7; i += 1) {
    delay = nextDelay(delay, limits);
    delays.push(delay);
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
});

test("a wait is between half the delay and all of it", () => {
  assert.equal(jittered(1000, () => 0), 500);
  assert.equal(jittered(1000, () => 0.5), 750);
  assert.equal(jittered(1000, () => 0.999), 999.5);
});
