import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ratingsText,
  EARLIER_FRESH_MS,
  archiveErrorText,
  cleanFilters,
  customerFilter,
  earlierDue,
  earlierQuery,
  earlierShown,
  entryOfArchived,
  erasedText,
  filtersProblem,
  gistOf,
  outcomeText,
  privacySubject,
  searchQuery,
} from "./archive.js";
import { initialState, reduce } from "./state.js";

/** @typedef {import("./state.js").ConsoleState} ConsoleState */

const PROFILE = { user: "alex", role: "agent", display_name: "Alex Morgan", teams: ["support"], capacity: 3, csrf: "t" };

function signedIn() {
  return reduce(initialState(), { type: "signed-in", profile: PROFILE });
}

test("the search's query string: trimmed, empty filters left out, in the form's order", () => {
  assert.equal(searchQuery({}), "");
  assert.equal(searchQuery({ q: "  ", order: "", email: " " }), "");
  assert.equal(
    searchQuery({ to: "2026-12-06", q: "  kayak paddle ", tag: "damaged", from: "2026-12-01" }),
    "q=kayak+paddle&tag=damaged&from=2026-12-01&to=2026-12-06",
  );
  // Characters that mean something in a URL are escaped, not sent as separators.
  assert.equal(searchQuery({ q: "a&b=c #1", email: "dana+shop@example.com" }), "q=a%26b%3Dc+%231&email=dana%2Bshop%40example.com");
  assert.deepEqual(cleanFilters({ order: " HG-1 " }), { q: "", order: "HG-1", email: "", tag: "", from: "", to: "" });
});

test("dates are checked before asking: the format, and From not after To", () => {
  assert.equal(filtersProblem(cleanFilters({})), "");
  assert.equal(filtersProblem(cleanFilters({ from: "2026-12-01", to: "2026-12-01" })), "");
  assert.match(filtersProblem(cleanFilters({ from: "2026-12-02", to: "2026-12-01" })), /after/);
  assert.match(filtersProblem(cleanFilters({ to: "6/12/2026" })), /YYYY-MM-DD/);
});

test("a search goes searching → done; an older search's answer never overwrites a newer one", () => {
  let state = signedIn();
  assert.equal(state.history.status, "idle");
  state = reduce(state, { type: "history-search", filters: cleanFilters({ q: "refund" }), seq: 1 });
  state = reduce(state, { type: "history-search", filters: cleanFilters({ q: "kayak" }), seq: 2 });
  assert.equal(state.history.status, "searching");
  assert.equal(state.history.filters.q, "kayak");
  const late = reduce(state, { type: "history-results", seq: 1, conversations: [{ id: "old" }] });
  assert.equal(late, state, "the answer to the first search is dropped");
  state = reduce(state, {
    type: "history-results",
    seq: 2,
    conversations: [{ id: "c2", tags: ["damaged"], packet: { summary: "Paddle cracked" } }, { id: "c1" }],
  });
  assert.equal(state.history.status, "done");
  assert.deepEqual(state.history.results.map((c) => c.id), ["c2", "c1"]);
  assert.deepEqual(state.history.results[1].tags, [], "tags are always a list");
  assert.equal(reduce(state, { type: "history-failed", seq: 1, message: "late" }), state);
});

test("a refused search shows why and no stale results; the form is redrawn only for filters from elsewhere", () => {
  let state = signedIn();
  state = reduce(state, { type: "history-search", filters: cleanFilters({}), seq: 1 });
  state = reduce(state, { type: "history-results", seq: 1, conversations: [{ id: "c1" }] });
  state = reduce(state, { type: "history-search", filters: cleanFilters({ order: "abc" }), seq: 2 });
  assert.equal(state.history.formVersion, 0);
  state = reduce(state, { type: "history-failed", seq: 2, message: "An order number has digits, like HG-10042." });
  assert.equal(state.history.status, "error");
  assert.equal(state.history.error, "An order number has digits, like HG-10042.");
  assert.deepEqual(state.history.results, []);
  state = reduce(state, { type: "history-search", filters: cleanFilters({ order: "HG-1" }), seq: 3, fromElsewhere: true });
  assert.equal(state.history.formVersion, 1);
  assert.equal(state.history.error, "");
});

test("opening a past conversation: loading, then its transcript as live entries; a late answer for another is dropped", () => {
  let state = reduce(signedIn(), { type: "history-open", id: "c1" });
  assert.equal(state.history.openStatus, "loading");
  state = reduce(state, { type: "history-open", id: "c2" });
  assert.equal(reduce(state, { type: "history-opened", id: "c1", conversation: { id: "c1", transcript: [] } }), state);
  state = reduce(state, {
    type: "history-opened",
    id: "c2",
    conversation: {
      id: "c2",
      state: "closed",
      tags: ["damaged"],
      transcript: [
        { id: "1-0", at: 5, from: "customer", kind: "message", text: "hi", data: {} },
        { id: "2-0", at: 6, from: "agent", kind: "message", text: "Hello", data: { agent_name: "Alex" } },
      ],
    },
  });
  const opened = /** @type {NonNullable<ConsoleState["history"]["opened"]>} */ (state.history.opened);
  assert.equal(state.history.openStatus, "done");
  assert.deepEqual(opened.transcript.map((e) => [e.from, e.text, e.agent_name]), [
    ["customer", "hi", undefined],
    ["agent", "Hello", "Alex"],
  ]);
  state = reduce(state, { type: "history-close" });
  assert.equal(state.history.open, null);
  assert.equal(state.history.opened, null);
  state = reduce(state, { type: "history-open", id: "gone" });
  state = reduce(state, { type: "history-open-failed", id: "gone", message: archiveErrorText(404, "") });
  assert.equal(state.history.openStatus, "error");
  assert.match(state.history.openError, /not in the archive/);
});

test("an archived entry's stored fields become the live entry's: agent name, event, buttons, event data", () => {
  const rated = entryOfArchived({
    id: "9-0",
    at: 9,
    from: "system",
    kind: "event",
    text: "",
    data: { event: "rated", data: '{"score": 4}' },
  });
  assert.deepEqual(rated, { id: "9-0", at: 9, from: "system", kind: "event", text: "", event: "rated", data: { score: 4 } });
  const bot = entryOfArchived({
    id: "3-0",
    at: 3,
    from: "bot",
    kind: "message",
    text: "Hello!",
    data: { buttons: '[{"title": "Returns"}]', client_id: "bot-1" },
  });
  assert.deepEqual(bot.buttons, [{ title: "Returns" }]);
  const broken = entryOfArchived({ id: "4-0", from: "bot", text: "x", data: { buttons: "[not json" } });
  assert.equal(broken.buttons, undefined);
  assert.equal(entryOfArchived({ id: 5, text: null }).text, "");
  const state = entryOfArchived({ id: "6-0", kind: "event", from: "system", data: { event: "state", state: "queued" } });
  assert.equal(state.state, "queued");
});

test("a live chat's customer: their email first (a verified order's, or one left), else the verified order, else nobody", () => {
  const verified = { slots: { order_number: "HG-10042", order_verified: true, order_state: "delayed" } };
  assert.deepEqual(customerFilter(verified, { customer_email: "dana@example.com" }), { email: "dana@example.com" });
  assert.deepEqual(customerFilter(verified, {}), { order: "HG-10042" });
  assert.equal(earlierQuery(verified, null), "order=HG-10042");
  // An unverified order does not say whose chat it is (the packet should not carry one anyway).
  const unverified = { slots: { order_number: "HG-10042", order_verified: false } };
  assert.deepEqual(customerFilter(unverified, { customer_email: " dana@example.com " }), { email: "dana@example.com" });
  assert.equal(earlierQuery(unverified, { customer_email: "dana@example.com" }), "email=dana%40example.com");
  assert.equal(customerFilter({ slots: { order_verified: true } }, {}), null);
  assert.equal(customerFilter(null, null), null);
  assert.equal(customerFilter({}, { customer_email: "" }), null);
  assert.equal(earlierQuery({ slots: {} }, { state: "assigned" }), "");
});

test("earlier conversations: not the chat itself, the newest five, looked up again after a while", () => {
  const items = ["live", "a", "b", "c", "d", "e", "f"].map((id) => ({ id }));
  const q = "order=HG-1";
  const earlier = { query: q, status: /** @type {const} */ ("done"), items, at: 1000 };
  assert.deepEqual(earlierShown(earlier, "live", q).map((c) => c.id), ["a", "b", "c", "d", "e"]);
  assert.deepEqual(earlierShown(earlier, "live", "email=a%40b.c"), [], "another customer's are not shown");
  assert.deepEqual(earlierShown(undefined, "live", q), []);
  assert.equal(earlierDue(undefined, q, 0), true);
  assert.equal(earlierDue(earlier, q, 1000 + EARLIER_FRESH_MS), false);
  assert.equal(earlierDue(earlier, q, 1001 + EARLIER_FRESH_MS), true);
  assert.equal(earlierDue(earlier, "email=a%40b.c", 1001), true, "the chat now names someone else");
  assert.equal(earlierDue({ ...earlier, status: "loading" }, q, 1e12), false);
});

test("earlier conversations are kept per live chat: a customer's new chat looks again", () => {
  let state = signedIn();
  state = reduce(state, { type: "earlier-loading", conversation: "c1", query: "order=HG-1", at: 1 });
  assert.equal(state.earlier.c1.status, "loading");
  state = reduce(state, { type: "earlier", conversation: "c1", query: "order=HG-1", conversations: [{ id: "a" }], at: 2 });
  assert.equal(earlierDue(state.earlier.c2, "order=HG-1", 3), true, "the same customer's next chat");
  // Looked up again: the list stays while loading, and a failure keeps it too.
  state = reduce(state, { type: "earlier-loading", conversation: "c1", query: "order=HG-1", at: 70000 });
  state = reduce(state, { type: "earlier-failed", conversation: "c1", query: "order=HG-1", at: 70001 });
  assert.deepEqual(state.earlier.c1.items.map((c) => c.id), ["a"]);
  assert.equal(state.earlier.c1.status, "error");
  // The chat's customer changed meanwhile: the old search's answer is dropped.
  state = reduce(state, { type: "earlier-loading", conversation: "c1", query: "email=d%40e.f", at: 70002 });
  assert.deepEqual(state.earlier.c1.items, []);
  const late = reduce(state, { type: "earlier", conversation: "c1", query: "order=HG-1", conversations: [{ id: "a" }], at: 70003 });
  assert.equal(late, state);
  state = reduce(state, { type: "earlier-reset" });
  assert.deepEqual(state.earlier, {});
});

test("the archive's refusals in words: unavailable, absent, the server's own 400 message", () => {
  assert.match(archiveErrorText(503, "The conversation archive is not configured."), /archive is not available/);
  assert.equal(archiveErrorText(400, "'from' must be a date like 2026-12-06."), "'from' must be a date like 2026-12-06.");
  assert.match(archiveErrorText(0, ""), /cannot be reached/);
  assert.match(archiveErrorText(500, ""), /500/);
});

test("a past conversation's outcome and gist", () => {
  assert.equal(outcomeText({ id: "a", state: "closed", handoff_reason: "human_request" }), "Closed by an agent");
  assert.equal(outcomeText({ id: "a", state: "bot" }), "Assistant only");
  assert.equal(outcomeText({ id: "a", state: "bot", handoff_reason: "anger" }), "Back with the assistant");
  assert.equal(gistOf({ id: "a", packet: { summary: "Paddle cracked\nmore" } }), "Paddle cracked");
  assert.equal(gistOf({ id: "a", packet: null, notes: "Sent a new one" }), "Sent a new one");
  assert.equal(gistOf({ id: "a" }), "No summary");
});

test("the privacy form names exactly one customer", () => {
  assert.deepEqual(privacySubject(" dana@example.com ", ""), { body: { email: "dana@example.com" }, label: "dana@example.com", error: "" });
  assert.deepEqual(privacySubject("", " HG-10042 "), { body: { order_number: "HG-10042" }, label: "order HG-10042", error: "" });
  assert.match(privacySubject("", "").error, /email address or an order number/);
  assert.match(privacySubject("a@b.c", "HG-1").error, /not both/);
  assert.match(privacySubject("dana", "").error, /not an email/);
  assert.match(privacySubject("", "abc").error, /digits/);
});

test("an erasure: busy, then the counts; a failure says why; the log is kept apart", () => {
  let state = signedIn();
  state = reduce(state, { type: "privacy-busy", busy: "erase" });
  assert.equal(state.privacy.busy, "erase");
  const erased = { live_conversations: 1, assistant_trackers: 1, archived_conversations: 2, tickets: 0, unanswered_questions: 0, emails: 1 };
  state = reduce(state, { type: "privacy-erased", erased });
  assert.equal(state.privacy.busy, "");
  assert.equal(
    erasedText(state.privacy.erased),
    "1 live conversation, 1 assistant record, 2 archived conversations, 0 tickets, 0 unanswered questions, 1 email",
  );
  state = reduce(state, { type: "privacy-busy", busy: "export" });
  assert.equal(state.privacy.erased, null, "a new request clears the last answer");
  state = reduce(state, { type: "privacy-failed", message: "The archive is not available right now." });
  assert.equal(state.privacy.error, "The archive is not available right now.");
  state = reduce(state, { type: "erasures", erasures: [{ id: 1, actor: "ops", subject_kind: "email", conversations: 2 }] });
  assert.equal(state.privacy.erasures && state.privacy.erasures.length, 1);
  assert.equal(reduce(state, { type: "signed-out" }).privacy.erasures, null, "signing out forgets it");
});

test("a customer's ratings in words, and nothing when they never rated", () => {
  assert.equal(ratingsText({ count: 3, average: 4.333 }), "Rated 3 earlier chats, 4.3/5 on average");
  assert.equal(ratingsText({ count: 1, average: 2 }), "Rated 1 earlier chat, 2.0/5 on average");
  assert.equal(ratingsText({ count: 0, average: null }), "");
  assert.equal(ratingsText(undefined), "");
});
