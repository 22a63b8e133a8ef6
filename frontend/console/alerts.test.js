import { test } from "node:test";
import assert from "node:assert/strict";
import { breachText } from "./alerts.js";

test("a breach alert says whose chat, which reply and the target it passed", () => {
  assert.equal(
    breachText({ title: "Visitor 7F3K", kind: "first", target_seconds: 60 }),
    "Overdue: Visitor 7F3K has waited for a first response longer than the 1 min target.",
  );
  assert.equal(
    breachText({ title: "Ada Lovelace", kind: "next", target_seconds: 1 }),
    "Overdue: Ada Lovelace has waited for a reply longer than the 1 s target.",
  );
  assert.equal(breachText({ kind: "next", target_seconds: 90 }).startsWith("Overdue: A chat has"), true);
});
