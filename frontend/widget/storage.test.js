import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_CACHED, emptySaved, readSaved, storageKey, writeSaved } from "./storage.js";

const KEY = storageKey("chat.example.com");

/** A Storage stand-in holding strings, like the browser's. */
class Area {
  /** @param {Record<string, string>} [items] */
  constructor(items = {}) {
    /** @type {Map<string, string>} */
    this.items = new Map(Object.entries(items));
  }
  /** @param {string} key */
  getItem(key) { return this.items.has(key) ? /** @type {string} */ (this.items.get(key)) : null; }
  /** @param {string} key @param {string} value */
  setItem(key, value) { this.items.set(key, String(value)); }
  /** @param {string} key */
  removeItem(key) { this.items.delete(key); }
}

/** @param {string | undefined} raw */
function read(raw) {
  const session = new Area(raw === undefined ? {} : { [KEY]: raw });
  return readSaved(() => session, KEY);
}

test("the key names the service's host", () => {
  assert.equal(KEY, "harbor-assist:chat.example.com");
});

test("nothing stored, unreadable JSON or the wrong shape: a fresh chat", () => {
  for (const raw of [undefined, "", "{not json", "null", "42", '"text"', "[1,2]", "true"]) {
    assert.deepEqual(read(raw), emptySaved(), String(raw));
  }
});

test("storage that refuses to be read (disabled, sandboxed frame) is a fresh chat", () => {
  const blocked = () => {
    throw new DOMException("The operation is insecure.", "SecurityError");
  };
  assert.deepEqual(readSaved(blocked, KEY, blocked), emptySaved());
  const throwing = { getItem() { throw new Error("denied"); }, setItem() {}, removeItem() {} };
  assert.deepEqual(readSaved(() => throwing, KEY), emptySaved());
});

test("fields of the wrong type are dropped one by one; the rest is kept", () => {
  const saved = read(JSON.stringify({
    token: 42,
    conversation: "9f0c",
    last_seen: ["1-0"],
    open: "yes",
    entries: [{ id: "1-0", kind: "message", text: "hi" }, null, "junk", [1], { id: 7 }, { kind: "event" }],
  }));
  assert.equal(saved.token, null);
  assert.equal(saved.conversation, "9f0c");
  assert.equal(saved.lastSeen, null);
  assert.equal(saved.open, false);
  assert.deepEqual(saved.entries, [{ id: "1-0", kind: "message", text: "hi" }]);
  assert.deepEqual(read(JSON.stringify({ token: "t", entries: { 0: {} } })).entries, []);
});

test("what was written is read back, and the cache keeps only the newest entries", () => {
  const session = new Area();
  const entries = Array.from({ length: MAX_CACHED + 3 }, (_, i) => ({ id: `${i}-0`, kind: "message" }));
  writeSaved(() => session, KEY, { token: "v1.tok", conversation: "c1", lastSeen: "2-0", open: true, entries });
  const stored = JSON.parse(/** @type {string} */ (session.getItem(KEY)));
  assert.equal(stored.last_seen, "2-0", "the stored field names stay those of earlier versions");
  const saved = readSaved(() => session, KEY);
  assert.equal(saved.token, "v1.tok");
  assert.equal(saved.open, true);
  assert.equal(saved.entries.length, MAX_CACHED);
  assert.equal(saved.entries[0].id, "3-0");
});

test("a chat an earlier version left in localStorage is deleted", () => {
  const legacy = new Area({ [KEY]: '{"token":"old"}', other: "kept" });
  const saved = readSaved(() => new Area(), KEY, () => legacy);
  assert.equal(saved.token, null, "the old token is not used either");
  assert.equal(legacy.getItem(KEY), null);
  assert.equal(legacy.getItem("other"), "kept");
});

test("a storage that refuses writes (private mode, full) does not break the chat", () => {
  const full = { getItem: () => null, setItem() { throw new DOMException("full", "QuotaExceededError"); }, removeItem() {} };
  assert.doesNotThrow(() => writeSaved(() => full, KEY, emptySaved()));
});
