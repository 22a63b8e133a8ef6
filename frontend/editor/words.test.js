import { test } from "node:test";
import assert from "node:assert/strict";
import { auditKeys, filterAudit } from "./audit.js";
import { describe, when } from "./words.js";

test("audit details read as one line, lists joined and objects as JSON", () => {
  assert.equal(
    describe({ added_phrasings: ["gift wrap?", { message: "dup" }], answer: "Yes", extra: { n: 1 } }),
    'added phrasings: gift wrap?; dup · answer: Yes · extra: {"n":1}',
  );
  assert.equal(describe(null), "");
});

test("a time the page cannot read is shown as it came", () => {
  assert.equal(when("not a date"), "not a date");
  assert.notEqual(when(Date.UTC(2026, 0, 2)), "");
});

test("audit rows keep their keys when newer entries arrive on top", () => {
  const older = [
    { at: "t1", actor: "erin", action: "add", topic: "a" },
    { at: "t1", actor: "erin", action: "add", topic: "a" },
  ];
  const before = auditKeys(older);
  assert.equal(new Set(before).size, 2);
  const after = auditKeys([{ at: "t2", actor: "ada", action: "publish" }, ...older]);
  assert.deepEqual(after.slice(1), before);
});

test("the audit filter matches person, action or topic", () => {
  const entries = [
    { actor: "erin", action: "add", topic: "ship_to_canada" },
    { actor: "ada", action: "publish", topic: null },
  ];
  assert.deepEqual(filterAudit(entries, "CANADA").map((e) => e.actor), ["erin"]);
  assert.deepEqual(filterAudit(entries, "publish").map((e) => e.actor), ["ada"]);
  assert.equal(filterAudit(entries, " ").length, 2);
});
