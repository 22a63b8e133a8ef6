import { test } from "node:test";
import assert from "node:assert/strict";
import { nextDelay, spread } from "./backoff.js";

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

test("the spread stays within a fifth of the delay either way", () => {
  assert.equal(spread(1000, 0.2, () => 0), 800);
  assert.equal(spread(1000, 0.2, () => 1), 1200);
  assert.equal(spread(1000, 0.2, () => 0.5), 1000);
  assert.equal(spread(0, 0.2, () => 1), 0);
});
