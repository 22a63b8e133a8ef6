import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, UNREACHABLE } from "../common/api.js";
import { caughtMails, createMailLoader, initialMail, mailErrorText, mailReducer, openMail, subjectText } from "./mail.js";
import { initialState, reduce } from "./state.js";
import { mayReplyByEmail, takeFailedText, takeTicket } from "./tickets.js";

/** @typedef {import("./mail.js").MailAction} MailAction */

const CAUGHT = {
  id: "1733500000000-0",
  at: 1733500000000,
  from: "Harbor Goods support <support@harbor-goods.example>",
  to: "pat.lee@example.com",
  subject: "Re: my lamp arrived cracked",
  message_id: "<a1@harbor-goods.example>",
  reply_to: "reply+abc.def@harbor-goods.example",
  text: "Hello Pat,\n<b>not bold</b>",
  truncated: false,
  size: 900,
};

/**
 * A loader whose requests answer from `answers` (a value, or an error to throw), recording them.
 * @param {(method: string, path: string, body?: unknown) => unknown} answer
 */
function loaderWith(answer) {
  /** @type {MailAction[]} */
  const actions = [];
  /** @type {[string, string, unknown][]} */
  const calls = [];
  let epoch = 0;
  const loader = createMailLoader({
    async api(method, path, body) {
      calls.push([method, path, body]);
      const result = answer(method, path, body);
      if (result instanceof Error) throw result;
      return result;
    },
    dispatch: (action) => void actions.push(action),
    current: () => epoch,
  });
  return {
    loader,
    actions,
    calls,
    signOut() {
      epoch += 1;
    },
  };
}

test("the answer's mails are kept, anything malformed left out", () => {
  assert.deepEqual(caughtMails({ mails: [CAUGHT, null, { subject: "no id" }, "x"] }), [CAUGHT]);
  assert.deepEqual(caughtMails({}), []);
  assert.deepEqual(caughtMails(null), []);
});

test("a list makes the tab available; a 404 (no catcher here) takes it away", async () => {
  const listed = loaderWith(() => ({ mails: [CAUGHT] }));
  await listed.loader.list();
  assert.deepEqual(listed.calls, [["GET", "/api/mail/caught?limit=100", undefined]]);
  let state = reduce(initialState("app"), listed.actions[0]);
  assert.equal(state.mail.available, true);
  assert.deepEqual(state.mail.mails, [CAUGHT]);

  const off = loaderWith(() => new ApiError("No local mail catcher runs here", 404, {}));
  await off.loader.list();
  assert.deepEqual(off.actions, [{ type: "mail-unavailable" }]);
  state = reduce(state, off.actions[0]);
  assert.equal(state.mail.available, false);
  assert.equal(state.mail.mails, null);
});

test("a failed list is said and keeps the tab; signing out forgets it", async () => {
  const down = loaderWith(() => new ApiError(UNREACHABLE, 0, {}));
  await down.loader.list();
  assert.deepEqual(down.actions, [{ type: "mail-failed", message: UNREACHABLE }]);
  let state = reduce(initialState("app"), { type: "mail", mails: [CAUGHT] });
  state = reduce(state, down.actions[0]);
  assert.equal(state.mail.available, true);
  assert.equal(state.mail.error, UNREACHABLE);
  state = reduce(state, { type: "signed-out" });
  assert.deepEqual(state.mail, initialMail());
});

test("an answer after sign-out is dropped", async () => {
  /** @type {(value: unknown) => void} */
  let release = () => {};
  const late = loaderWith(() => undefined);
  const pending = new Promise((resolve) => {
    release = resolve;
  });
  const slow = createMailLoader({
    api: () => pending,
    dispatch: (action) => void late.actions.push(action),
    current: () => (late.calls.length ? 1 : 0),
  });
  const listing = slow.list();
  late.calls.push(["signed out", "", undefined]);
  release({ mails: [CAUGHT] });
  await listing;
  assert.deepEqual(late.actions, []);
});

test("opening a mail reads it; a new list that no longer has it closes it", () => {
  let mail = mailReducer(initialMail(), { type: "mail", mails: [CAUGHT] });
  mail = mailReducer(mail, { type: "mail-open", id: CAUGHT.id });
  assert.equal(openMail(mail), CAUGHT);
  assert.equal(openMail(mailReducer(mail, { type: "mail", mails: [CAUGHT] })), CAUGHT);
  mail = mailReducer(mail, { type: "mail", mails: [] });
  assert.equal(mail.open, null);
  assert.equal(openMail(mail), null);
  assert.equal(subjectText({ id: "1-0", at: 0, subject: "  " }), "(no subject)");
  assert.equal(subjectText(CAUGHT), "Re: my lamp arrived cracked");
});

test("a reply as the customer is posted with its text and said sent", async () => {
  const sent = loaderWith(() => ({ sent: true, message_id: "<m@example.com>", to: "reply+abc.def@harbor-goods.example" }));
  assert.equal(await sent.loader.reply(CAUGHT.id, "Thanks, a new lamp is fine."), true);
  assert.deepEqual(sent.calls, [
    ["POST", `/api/mail/caught/${encodeURIComponent(CAUGHT.id)}/reply`, { text: "Thanks, a new lamp is fine." }],
  ]);
  let mail = mailReducer(initialMail(), { type: "mail", mails: [CAUGHT] });
  mail = mailReducer(mail, { type: "mail-open", id: CAUGHT.id });
  for (const action of sent.actions) mail = mailReducer(mail, action);
  assert.equal(mail.sending, false);
  assert.equal(mail.sent, "Sent as the customer to reply+abc.def@harbor-goods.example.");
  assert.equal(mail.replyError, "");
});

test("an empty reply is not sent; a refused one says why and keeps the form", async () => {
  const never = loaderWith(() => ({}));
  assert.equal(await never.loader.reply(CAUGHT.id, "   "), false);
  assert.deepEqual(never.calls, []);
  assert.deepEqual(never.actions, [{ type: "mail-send-failed", message: "Write the reply first." }]);

  const refused = loaderWith(
    () => new ApiError("The service's inbound mail refused the reply: 550 unknown reply address", 502, {}),
  );
  assert.equal(await refused.loader.reply(CAUGHT.id, "hello"), false);
  let mail = mailReducer(initialMail(), { type: "mail-open", id: CAUGHT.id });
  for (const action of refused.actions) mail = mailReducer(mail, action);
  assert.equal(mail.sending, false);
  assert.equal(
    mail.replyError,
    "The reply did not arrive: The service's inbound mail refused the reply: 550 unknown reply address",
  );
  assert.equal(mailErrorText(new ApiError("gone", 404, {})), "That mail is no longer kept by the catcher.");
  assert.equal(mailErrorText(new Error("boom")), "boom");
});

test("only an open ticket with an email address can be answered by email", () => {
  const ticket = { id: "5-0", conversation: "c".repeat(32), email: "pat@example.com", text: "hi", status: "open" };
  assert.ok(mayReplyByEmail(ticket));
  assert.ok(mayReplyByEmail({ ...ticket, status: undefined }));
  assert.ok(!mayReplyByEmail({ ...ticket, status: "answered" }));
  assert.ok(!mayReplyByEmail({ ...ticket, email: "" }));
  assert.ok(!mayReplyByEmail({ ...ticket, conversation: undefined }));
});

test("Reply by email takes the ticket and opens its conversation; a refusal is said", async () => {
  const ticket = { id: "5-0", conversation: "c".repeat(32), email: "pat@example.com", status: "open" };
  /** @type {[string, string, unknown][]} */
  const calls = [];
  /** @type {string[]} */
  const opened = [];
  /** @type {string[]} */
  const said = [];
  const deps = {
    /**
     * @param {string} method
     * @param {string} path
     * @param {unknown} [body]
     */
    async api(method, path, body) {
      calls.push([method, path, body]);
      return { conversation: ticket.conversation };
    },
    openChat: (/** @type {string} */ cid) => void opened.push(cid),
    failed: (/** @type {string} */ text) => void said.push(text),
  };
  assert.equal(await takeTicket(deps, ticket), true);
  assert.deepEqual(calls, [["POST", "/api/tickets/5-0/take", {}]]);
  assert.deepEqual(opened, [ticket.conversation]);

  const gone = {
    ...deps,
    api: async () => {
      throw new ApiError("no such ticket", 404, {});
    },
  };
  assert.equal(await takeTicket(gone, ticket), false);
  assert.deepEqual(opened, [ticket.conversation]);
  assert.deepEqual(said, ["That ticket is gone (answered, or erased). Refresh the list."]);
  assert.equal(takeFailedText(new ApiError("Taken by Sam", 409, {})), "Taken by Sam");
});
