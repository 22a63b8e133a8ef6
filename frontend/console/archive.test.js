import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "../common/api.js";
import { archiveErrorText, entryOfArchived, gistOf, outcomeText } from "./archive.js";
import {
  EARLIER_FRESH_MS,
  customerFilter,
  customerWho,
  earlierDue,
  earlierQuery,
  earlierShown,
  ratingsText,
  verifiedOrderOf,
} from "./earlier.js";
import { cleanFilters, createHistoryPager, filtersProblem, olderQuery, searchQuery, searchStatusText } from "./history_search.js";
import { erasedText, privacySubject } from "./privacy_state.js";
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

test("a live chat's customer is looked up only when they verified an order: by its email, else by the order", () => {
  const verified = { slots: { order_number: "HG-10042", order_verified: true, order_state: "delayed" } };
  // Escalation set the verified order's email (and the order) on the conversation.
  const escalated = { customer_email: "dana@example.com", verified_order: "HG-10042" };
  assert.deepEqual(customerFilter(verified, escalated), { email: "dana@example.com" });
  assert.deepEqual(customerFilter(null, escalated), { email: "dana@example.com" }, "the field alone says it is verified");
  assert.deepEqual(customerFilter(verified, { customer_email: " dana@example.com " }), { email: "dana@example.com" });
  assert.deepEqual(customerFilter(verified, {}), { order: "HG-10042" });
  assert.deepEqual(customerFilter({}, { verified_order: " HG-10042 " }), { order: "HG-10042" });
  assert.equal(earlierQuery(verified, null), "order=HG-10042");
  // An email typed when leaving a message is not an identity: anyone can type anyone's address.
  const left = { customer_email: "dana@example.com", state: "closed" };
  assert.equal(customerFilter({ slots: {} }, left), null);
  assert.equal(customerFilter(null, left), null);
  assert.equal(earlierQuery({ slots: {} }, left), "");
  // Nor is an order the assistant did not verify (the packet should not carry one anyway).
  const unverified = { slots: { order_number: "HG-10042", order_verified: false } };
  assert.equal(customerFilter(unverified, left), null);
  assert.equal(customerFilter({ slots: { order_number: "HG-10042", order_verified: "yes" } }, left), null);
  assert.equal(customerFilter({ slots: { order_verified: true } }, left), null);
  assert.equal(customerFilter(null, null), null);
  assert.equal(verifiedOrderOf(verified, { verified_order: "HG-7" }), "HG-7", "the conversation's own field first");
  assert.equal(verifiedOrderOf(unverified, left), "");
});

test("a customer is known by name and verified order, never by an email", () => {
  const customer = { name: "Lucas Müller", email: "lucas@example.com", verified_order: "HG-10008", known_by: "verified order" };
  assert.equal(customerWho(customer, ""), "verified order HG-10008");
  assert.equal(customerWho({ ...customer, email: undefined }, "HG-1"), "verified order HG-10008");
  assert.equal(customerWho(null, "HG-10008"), "verified order HG-10008", "before the service answers");
  const left = { name: "", email: "dana@example.com", verified_order: "", known_by: "email left with a message" };
  assert.equal(customerWho(left, ""), "this customer");
  assert.doesNotMatch(customerWho(customer, "HG-10008") + customerWho(left, ""), /@/);
});

test("older results: the same filters with the cursor; the status says whether more follow", () => {
  const filters = cleanFilters({ q: " kayak ", tag: "damaged" });
  assert.equal(olderQuery(filters, "MTc2NTAwMDAwMDAwMC5hYWFh"), "q=kayak&tag=damaged&before=MTc2NTAwMDAwMDAwMC5hYWFh");
  assert.equal(olderQuery({}, "a-b_c"), "before=a-b_c");
  let state = reduce(signedIn(), { type: "history-search", filters, seq: 1 });
  assert.equal(searchStatusText(state.history), "Searching the archive…");
  const fifty = Array.from({ length: 50 }, (_, n) => ({ id: `c${n}` }));
  state = reduce(state, { type: "history-results", seq: 1, conversations: fifty, next: "cursor-1" });
  assert.equal(state.history.next, "cursor-1");
  assert.equal(searchStatusText(state.history), "50 conversations found, newest first; older ones follow.");
  assert.doesNotMatch(searchStatusText(state.history), /first 50/);
  state = reduce(state, { type: "history-results", seq: 1, conversations: [{ id: "c49" }, { id: "c50" }], older: true });
  assert.equal(state.history.results.length, 51, "appended, each conversation once");
  assert.deepEqual(state.history.results.slice(48).map((c) => c.id), ["c48", "c49", "c50"]);
  assert.equal(searchStatusText(state.history), "51 conversations found, newest first.");
  assert.equal(state.history.next, "");
  // A new search forgets the cursor at once: no "Show older" for the results it replaces.
  state = reduce(state, { type: "history-search", filters: cleanFilters({}), seq: 2 });
  assert.equal(state.history.next, "");
  state = reduce(state, { type: "history-results", seq: 2, conversations: [{ id: "x" }] });
  assert.equal(searchStatusText(state.history), "1 conversation found, newest first.");
  state = reduce(state, { type: "history-results", seq: 2, conversations: [] });
  assert.equal(searchStatusText(state.history), "No past conversations match this search.");
});

/**
 * A console store with the real reducer, and a fake API whose answers the test releases.
 * @param {number} listed how many results the first page has
 */
function pagerRig(listed) {
  let state = reduce(signedIn(), { type: "history-search", filters: cleanFilters({ tag: "damaged" }), seq: 1 });
  const first = Array.from({ length: listed }, (_, n) => ({ id: `c${n}` }));
  state = reduce(state, { type: "history-results", seq: 1, conversations: first, next: "page-2" });
  /** @type {{path: string, answer: (data: any) => void, fail: (err: unknown) => void}[]} */
  const asked = [];
  let epoch = 0;
  const rig = {
    asked,
    get: () => state,
    signOut: () => (epoch += 1),
    /** @param {any} action */
    dispatch: (action) => (state = reduce(state, action)),
    pager: createHistoryPager({
      api: (_method, path) =>
        new Promise((answer, fail) => {
          asked.push({ path, answer, fail });
        }),
      dispatch: (action) => rig.dispatch(action),
      history: () => state.history,
      current: () => epoch,
    }),
  };
  return rig;
}

test("Show older: one request per page, appended, the first new row named for the keyboard", async () => {
  const rig = pagerRig(50);
  const shown = rig.pager.showOlderHistory();
  assert.equal(await rig.pager.showOlderHistory(), "", "a second click while it loads asks nothing");
  assert.equal(rig.asked.length, 1);
  assert.equal(rig.asked[0].path, "/api/archive/conversations?tag=damaged&before=page-2");
  rig.asked[0].answer({ conversations: [{ id: "c50" }, { id: "c51" }], next: "page-3" });
  assert.equal(await shown, "c50");
  assert.equal(rig.get().history.results.length, 52);
  assert.equal(rig.get().history.next, "page-3");
  // The last page: no cursor, so no more pages to ask for.
  const last = rig.pager.showOlderHistory();
  rig.asked[1].answer({ conversations: [{ id: "c52" }], next: null });
  assert.equal(await last, "c52");
  assert.equal(rig.get().history.next, "");
  assert.equal(await rig.pager.showOlderHistory(), "");
  assert.equal(rig.asked.length, 2);
});

test("Show older: a failure keeps the list and says why; an answer for a replaced search or after sign-out is dropped", async () => {
  const rig = pagerRig(50);
  const failed = rig.pager.showOlderHistory();
  rig.asked[0].fail(new ApiError("'before' is not the 'next' of an earlier answer: search again from the first page.", 400, {}));
  assert.equal(await failed, "");
  assert.equal(rig.get().history.results.length, 50);
  assert.equal(rig.get().history.next, "page-2", "the button stays, to try again");
  assert.match(rig.get().history.olderError, /search again from the first page/);
  assert.equal(rig.get().history.status, "done");

  const retried = rig.pager.showOlderHistory();
  rig.dispatch({ type: "history-search", filters: cleanFilters({ q: "lamp" }), seq: 2 });
  rig.dispatch({ type: "history-results", seq: 2, conversations: [{ id: "lamp" }] });
  rig.asked[1].answer({ conversations: [{ id: "c50" }], next: null });
  assert.equal(await retried, "");
  assert.deepEqual(rig.get().history.results.map((c) => c.id), ["lamp"], "not mixed into the new search");
  assert.equal(rig.get().history.olderError, "");

  const other = pagerRig(50);
  const late = other.pager.showOlderHistory();
  other.signOut();
  other.asked[0].answer({ conversations: [{ id: "c50" }], next: null });
  assert.equal(await late, "");
  assert.equal(other.get().history.results.length, 50);
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
  const erased = {
    live_conversations: 1, assistant_trackers: 1, archived_conversations: 2, tickets: 0,
    unanswered_questions: 0, emails: 1, follow_ups: 1, order_lookups: 2,
  };
  state = reduce(state, { type: "privacy-erased", erased });
  assert.equal(state.privacy.busy, "");
  assert.equal(
    erasedText(state.privacy.erased),
    "1 live conversation, 1 assistant record, 2 archived conversations, 0 tickets, 0 unanswered questions, 1 email, 1 follow-up, 2 order lookups made anonymous",
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
