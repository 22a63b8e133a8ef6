import { test } from "node:test";
import assert from "node:assert/strict";
import {
  FIELD_OF,
  MAX_ANSWER,
  answerCounter,
  initialState,
  issueErrors,
  matchingTopics,
  messagesOf,
  phrasingCounter,
  phrasingLines,
  phrasingsFromGroup,
  placeToolErrors,
  reduce,
} from "./state.js";

/** @typedef {import("./state.js").EditorState} EditorState */
/** @typedef {import("./state.js").EditorAction} EditorAction */

const EDITOR = { user: "erin", role: "editor", display_name: "Erin Editor", csrf: "t" };

/**
 * @param {EditorState} state
 * @param {...EditorAction} actions
 * @returns {EditorState}
 */
function run(state, ...actions) {
  let next = state;
  for (const action of actions) next = reduce(next, action);
  return next;
}

test("the answer counter counts the trimmed answer against the tool's limit", () => {
  assert.deepEqual(answerCounter("  Yes, we ship to Canada.  "), { text: "23 / 1000", over: false });
  assert.deepEqual(answerCounter("x".repeat(MAX_ANSWER)), { text: "1000 / 1000", over: false });
  assert.deepEqual(answerCounter("x".repeat(MAX_ANSWER + 1)), { text: "1001 / 1000", over: true });
});

test("phrasings are counted one per non-empty line, and fewer than five are flagged", () => {
  assert.deepEqual(phrasingLines("do you ship to canada\n\n  shipping to canada  \n"), [
    "do you ship to canada",
    "shipping to canada",
  ]);
  assert.deepEqual(phrasingCounter("a\nb"), { text: "2 phrasings (at least 5)", over: true });
  assert.deepEqual(phrasingCounter("a"), { text: "1 phrasing (at least 5)", over: true });
  assert.deepEqual(phrasingCounter("a\nb\nc\nd\ne"), { text: "5 phrasings", over: false });
});

test("every error code of the tool is placed next to its field of the add form", () => {
  const field = { key: "add-key", phrasings: "add-phrasings", answer: "add-answer", group: "add-group" };
  for (const code of Object.keys(FIELD_OF)) {
    const placed = placeToolErrors({ error: code, code, message: `about ${code}` }, "add-");
    assert.deepEqual(placed.errors, { [field[FIELD_OF[code]]]: `about ${code}` }, code);
    assert.deepEqual(placed.leftover, []);
  }
});

test("a refusal with several errors: two on one field are joined, unknown codes go to the banner", () => {
  const placed = placeToolErrors(
    {
      error: "key_format",
      message: "The key is not valid.",
      errors: [
        { code: "key_format", message: "The key is not valid." },
        { code: "too_few_phrasings", message: "Give at least 5 phrasings." },
        { code: "duplicate_phrasing", message: "“shipping” is in the list twice." },
        { code: "rasa_validate", message: "Rasa found a problem." },
        { code: "mystery" },
      ],
    },
    "add-",
  );
  assert.deepEqual(placed.errors, {
    "add-key": "The key is not valid.",
    "add-phrasings": "Give at least 5 phrasings. “shipping” is in the list twice.",
  });
  assert.deepEqual(placed.leftover, ["Rasa found a problem.", "The change was refused."]);
});

test("a likely conflict names its phrasing unless the message already does", () => {
  const named = placeToolErrors(
    { errors: [{ code: "likely_conflict", phrasing: "can I return it", message: "The assistant answers this with return_policy." }] },
    "add-",
  );
  assert.equal(named.errors["add-phrasings"], "“can I return it”: The assistant answers this with return_policy.");
  const quoted = placeToolErrors(
    { errors: [{ code: "likely_conflict", phrasing: "can I return it", message: "'can I return it' is return_policy." }] },
    "add-",
  );
  assert.equal(quoted.errors["add-phrasings"], "'can I return it' is return_policy.");
});

test("validation messages about a topic go next to its answer or its phrasings", () => {
  assert.deepEqual(
    issueErrors([
      { code: "answer_too_long", message: "Too long." },
      { code: "too_few_phrasings", message: "Too few." },
    ]),
    { "answer-edit": "Too long.", phrasing: "Too few." },
  );
  // A code the page does not know is about the topic's phrasings.
  assert.deepEqual(issueErrors([{ code: "rasa_validate", message: "Rasa says no." }]), { phrasing: "Rasa says no." });
});

test("a refusal as one sentence", () => {
  assert.equal(messagesOf({ errors: [{ message: "One." }, { message: "Two." }] }), "One. Two.");
  assert.equal(messagesOf({ error: "csrf", message: "Reload the page." }), "Reload the page.");
  assert.equal(messagesOf({ error: "faq_tool_failed" }), "The change was refused.");
});

test("opening a topic shows the last validation's messages about it; a phrasing change clears them", () => {
  let state = run(
    reduce(initialState(), { type: "signed-in", profile: EDITOR }),
    { type: "validation-done", body: { errors: [{ code: "empty_answer", topic: "gift_wrap", message: "Empty." }], warnings: ["Check this."] } },
  );
  assert.equal(state.validation.status, "1 problem to fix before publishing.");
  assert.deepEqual(
    state.validation.items.map((i) => [i.message, i.warning]),
    [["Empty.", false], ["Check this.", true]],
  );
  const topic = { key: "gift_wrap", group: "shop", phrasings: ["gift wrap?"], answer: "" };
  state = reduce(state, { type: "topic-opened", topic });
  assert.equal(state.errors["answer-edit"], "Empty.");
  state = run(state, { type: "topic-edited", key: "gift_wrap" }, { type: "topic-opened", topic });
  assert.deepEqual(state.errors, {});
});

test("an edited answer can be undone to the saved one", () => {
  const topic = { key: "gift_wrap", phrasings: [], answer: "We wrap." };
  let state = run(initialState("app"), { type: "topic-opened", topic }, { type: "answer-draft", text: "We wrap gifts." });
  assert.equal(state.answerDraft, "We wrap gifts.");
  state = reduce(state, { type: "answer-reset" });
  assert.equal(state.answerDraft, "We wrap.");
});

test("a new topic from unanswered questions: each wording once, the questions it resolves kept until added", () => {
  const group = {
    id: "g1",
    text: "do you sell gift wrapping",
    count: 4,
    ids: ["1", "2", "3", "4"],
    examples: [{ text: "do you sell gift wrapping" }, { text: "Do you sell gift wrapping" }, { text: "gift wrap?" }],
  };
  const phrasings = phrasingsFromGroup(group);
  assert.deepEqual(phrasings, ["do you sell gift wrapping", "gift wrap?"]);
  let state = reduce(initialState("app"), { type: "add-open", prefill: { phrasings, resolves: group.ids, source: "From 4." } });
  assert.equal(state.sheet, "add");
  assert.equal(state.add.phrasings, "do you sell gift wrapping\ngift wrap?");
  state = run(state, { type: "add-submitting" }, { type: "add-refused", errors: { "add-key": "Bad key." }, banner: "" });
  assert.deepEqual(state.resolves, ["1", "2", "3", "4"]);
  assert.equal(state.adding, false);
  state = run(state, { type: "add-submitting" }, { type: "add-done" });
  assert.deepEqual(state.resolves, []);
  assert.deepEqual(state.errors, {});
});

test("the topic search matches key, group and answer", () => {
  const topics = [
    { key: "refund_time", group: "returns", phrasings: 6, answer: "5 to 10 business days" },
    { key: "ship_to_canada", group: "shipping", phrasings: 5, answer: "Yes" },
  ];
  assert.deepEqual(matchingTopics(topics, "  REFUND ").map((t) => t.key), ["refund_time"]);
  assert.deepEqual(matchingTopics(topics, "shipping").map((t) => t.key), ["ship_to_canada"]);
  assert.deepEqual(matchingTopics(topics, "business").map((t) => t.key), ["refund_time"]);
  assert.equal(matchingTopics(topics, "").length, 2);
});
