import { test } from "node:test";
import assert from "node:assert/strict";
import { customerWait, percent, waitText } from "./format.js";

test("an agent reads waits in seconds, then minutes and seconds, then hours and minutes", () => {
  assert.equal(waitText(0), "0s");
  assert.equal(waitText(-3), "0s");
  assert.equal(waitText(59.4), "59s");
  assert.equal(waitText(200), "3m 20s");
  assert.equal(waitText(3600 + 5 * 60 + 9), "1h 5m");
});

test("a customer is told the wait in rounded minutes", () => {
  assert.equal(customerWait(null), "less than a minute");
  assert.equal(customerWait(59), "less than a minute");
  assert.equal(customerWait(80), "about 1 minute");
  assert.equal(customerWait(170), "about 3 minutes");
});

test("shares are percentages with one decimal, clamped, and unknown is a dash", () => {
  assert.equal(percent(0.1234), "12.3%");
  assert.equal(percent(1.7), "100%");
  assert.equal(percent(-0.2), "0%");
  assert.equal(percent(null), "—");
  assert.equal(percent(undefined), "—");
});
