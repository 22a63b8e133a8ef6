// The admins' Mail tab: the mail the service sent that `make run`'s local SMTP catcher caught
// instead of a customer's inbox (GET /api/mail/caught), each readable as plain text, and a reply
// to one written as its customer would (POST /api/mail/caught/{id}/reply): it reaches the
// service's inbound SMTP and lands in the same conversation, where the agent sees it live. So
// the whole email loop works on a laptop without a mail provider.
//
// The tab shows only where the catcher runs: the first list at sign-in answers 404 when
// MAIL_CATCHER is off, and the tab stays away (the API is the one place that knows).
//
// Here: the tab's slice of the state and its reducer, the words for its refusals, the loader the
// controller calls, and the component. A mail is shown as text, never as HTML.
import { ApiError } from "../common/api.js";
import { fieldOf } from "../common/forms.js";
import { html } from "../common/view.js";
import { dateTimeText } from "./archive.js";

/**
 * A caught mail as the API lists it (handoff/email/catcher.py).
 * @typedef {{
 *   id: string,
 *   at: number,
 *   envelope_from?: string,
 *   envelope_to?: string,
 *   from?: string,
 *   to?: string,
 *   subject?: string,
 *   date?: string,
 *   message_id?: string,
 *   reply_to?: string,
 *   in_reply_to?: string,
 *   references?: string,
 *   text?: string,
 *   truncated?: boolean,
 *   size?: number,
 * }} CaughtMail
 * @typedef {{
 *   available: boolean,
 *   mails: CaughtMail[] | null,
 *   error: string,
 *   open: string | null,
 *   sending: boolean,
 *   sent: string,
 *   replyError: string,
 * }} MailState
 *   `available`: the catcher runs here (the tab is shown); `mails`: null until listed;
 *   `open`: the mail being read; `sent`: what the last reply as the customer became.
 * @typedef {(
 *   | {type: "mail", mails: CaughtMail[]}
 *   | {type: "mail-unavailable"}
 *   | {type: "mail-failed", message: string}
 *   | {type: "mail-open", id: string}
 *   | {type: "mail-close"}
 *   | {type: "mail-sending"}
 *   | {type: "mail-sent", to: string}
 *   | {type: "mail-send-failed", message: string}
 * )} MailAction
 */

/** How many of the newest caught mails the tab lists. */
export const MAIL_LISTED = 100;

/** @returns {MailState} */
export function initialMail() {
  return { available: false, mails: null, error: "", open: null, sending: false, sent: "", replyError: "" };
}

/**
 * The caught mails in an answer, anything malformed left out.
 * @param {unknown} data the answer of GET /api/mail/caught
 * @returns {CaughtMail[]}
 */
export function caughtMails(data) {
  const list = data && typeof data === "object" ? /** @type {{mails?: unknown}} */ (data).mails : null;
  if (!Array.isArray(list)) return [];
  return list.filter((m) => m && typeof m === "object" && typeof m.id === "string" && m.id);
}

/**
 * @param {MailState} mail
 * @param {MailAction} action
 * @returns {MailState}
 */
export function mailReducer(mail, action) {
  switch (action.type) {
    case "mail": {
      // A mail no longer listed (dropped off the end) is no longer open.
      const open = mail.open && action.mails.some((m) => m.id === mail.open) ? mail.open : null;
      return { ...mail, available: true, mails: action.mails, error: "", open };
    }
    case "mail-unavailable":
      return { ...initialMail(), available: false };
    case "mail-failed":
      return { ...mail, error: action.message };
    case "mail-open":
      return { ...mail, open: action.id, sending: false, sent: "", replyError: "" };
    case "mail-close":
      return { ...mail, open: null, sending: false, sent: "", replyError: "" };
    case "mail-sending":
      return { ...mail, sending: true, sent: "", replyError: "" };
    case "mail-sent":
      return { ...mail, sending: false, sent: `Sent as the customer to ${action.to}.`, replyError: "" };
    case "mail-send-failed":
      return { ...mail, sending: false, replyError: action.message };
    default:
      return mail;
  }
}

/**
 * Why a request of the tab failed, in words.
 * @param {unknown} err
 * @returns {string}
 */
export function mailErrorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 0 || err.status === 503) return err.message;
    if (err.status === 404) return "That mail is no longer kept by the catcher.";
    if (err.status === 502) return `The reply did not arrive: ${err.message}`;
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * A mail's subject as a title ("(no subject)" when it has none).
 * @param {CaughtMail} m
 */
export function subjectText(m) {
  return (m.subject || "").trim() || "(no subject)";
}

/**
 * The mail being read, if it is still listed.
 * @param {MailState} mail
 * @returns {CaughtMail | null}
 */
export function openMail(mail) {
  if (!mail.open || !mail.mails) return null;
  const id = mail.open;
  return mail.mails.find((m) => m.id === id) || null;
}

/**
 * The tab's requests, for the controller: `list` lists the caught mail (404: the catcher does not
 * run here, the tab goes), `reply` sends a reply as the customer and then lists again. An answer
 * that comes after a sign-out (`current()` changed) is dropped.
 * @param {{
 *   api: (method: string, path: string, body?: unknown) => Promise<any>,
 *   dispatch: (action: MailAction) => void,
 *   current: () => number,
 * }} deps
 */
export function createMailLoader(deps) {
  async function list() {
    const started = deps.current();
    try {
      const data = await deps.api("GET", `/api/mail/caught?limit=${MAIL_LISTED}`);
      if (started === deps.current()) deps.dispatch({ type: "mail", mails: caughtMails(data) });
    } catch (err) {
      if (started !== deps.current()) return;
      if (err instanceof ApiError && (err.status === 404 || err.status === 403)) deps.dispatch({ type: "mail-unavailable" });
      else deps.dispatch({ type: "mail-failed", message: mailErrorText(err) });
    }
  }

  return {
    list,
    /**
     * @param {string} id
     * @param {string} text
     * @returns {Promise<boolean>} whether it was sent
     */
    async reply(id, text) {
      if (!text.trim()) {
        deps.dispatch({ type: "mail-send-failed", message: "Write the reply first." });
        return false;
      }
      const started = deps.current();
      deps.dispatch({ type: "mail-sending" });
      try {
        const data = await deps.api("POST", `/api/mail/caught/${encodeURIComponent(id)}/reply`, { text });
        if (started !== deps.current()) return false;
        deps.dispatch({ type: "mail-sent", to: String((data && data.to) || "the service") });
        return true;
      } catch (err) {
        if (started === deps.current()) deps.dispatch({ type: "mail-send-failed", message: mailErrorText(err) });
        return false;
      }
    },
  };
}

/**
 * @typedef {{
 *   loadMail: () => void,
 *   openMail: (id: string) => void,
 *   closeMail: () => void,
 *   replyAsCustomer: (id: string, text: string) => Promise<boolean>,
 * }} MailActions
 */

/** @param {{m: CaughtMail, act: MailActions}} props */
function MailMessage(props) {
  const m = props.m;
  const act = props.act;
  /** @type {[string, string | undefined][]} */
  const headers = [
    ["From", m.from || m.envelope_from],
    ["To", m.to || m.envelope_to],
    ["Reply-To", m.reply_to],
    ["Date", m.date],
    ["Message-ID", m.message_id],
    ["In-Reply-To", m.in_reply_to],
  ];
  return html`<section class="mail-message" id="mail-message" aria-labelledby="mail-subject">
    <div class="page-head">
      <h3 id="mail-subject" tabindex="-1">${subjectText(m)}</h3>
      <button type="button" class="btn btn-ghost btn-sm" id="mail-close" onClick=${() => act.closeMail()}>Close</button>
    </div>
    <dl class="mail-headers">
      ${headers
        .filter((h) => h[1])
        .map((h) => [html`<dt key=${`t-${h[0]}`}>${h[0]}</dt>`, html`<dd key=${`d-${h[0]}`}>${h[1]}</dd>`])}
    </dl>
    <pre class="mail-text" id="mail-text" tabindex="0" aria-label="The mail's text">${m.text || "(This mail has no plain text.)"}</pre>
    ${m.truncated ? html`<p class="mail-note">Only the beginning of this mail was kept.</p>` : null}
  </section>`;
}

/** @param {{mail: MailState, act: MailActions}} props */
function ReplyForm(props) {
  const mail = props.mail;
  const act = props.act;
  const m = openMail(mail);
  if (!m) return null;
  const id = m.id;

  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    if (await act.replyAsCustomer(id, fieldOf(form, "text"))) form.reset();
  }

  return html`<form class="mail-reply" id="mail-reply-form" aria-labelledby="mail-reply-title" onSubmit=${submit}>
    <h3 id="mail-reply-title">Reply as the customer</h3>
    <p class="mail-note">Sent over SMTP to this service's inbound mail, as the customer's mail program would send it:
      it joins the conversation the mail belongs to.</p>
    <label for="mail-reply-text">Your reply</label>
    <textarea id="mail-reply-text" name="text" rows="5" maxlength="10000" required></textarea>
    <div class="mail-reply-actions">
      <button type="submit" class="btn btn-primary" id="mail-reply-send" disabled=${mail.sending}>
        ${mail.sending ? "Sending…" : "Send as the customer"}</button>
    </div>
    <p id="mail-reply-error" class="form-error" role="alert" hidden=${!mail.replyError}>${mail.replyError}</p>
    <p id="mail-reply-status" class="mail-sent" role="status">${mail.sent}</p>
  </form>`;
}

/** @param {{mail: MailState, act: MailActions}} props */
export function Mail(props) {
  const mail = props.mail;
  const act = props.act;
  const list = mail.mails || [];
  const open = openMail(mail);
  return html`
    <div class="page-head">
      <h2>Mail</h2>
      <button type="button" class="btn btn-ghost" id="mail-refresh" onClick=${() => act.loadMail()}>Refresh</button>
    </div>
    <p class="mail-intro">
      Mail this service sent to customers, caught on this machine by the local mail catcher instead of being
      delivered. Open one to read it, and reply as its customer to see the reply arrive in the conversation.
    </p>
    <p id="mail-error" class="form-error" role="alert" hidden=${!mail.error}>${mail.error}</p>
    <table class="table" id="mail-list">
      <caption class="sr-only">Caught mail, newest first</caption>
      <thead>
        <tr><th scope="col">Received</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Subject</th></tr>
      </thead>
      <tbody id="mail-body">
        ${list.map(
          (m) => html`<tr key=${m.id} class=${m.id === mail.open ? "mail-row selected" : "mail-row"} data-id=${m.id}>
            <td class="nowrap">${dateTimeText(m.at)}</td>
            <td>${m.from || m.envelope_from || ""}</td>
            <td>${m.to || m.envelope_to || ""}</td>
            <td>
              <button type="button" class="link-button mail-open" data-id=${m.id}
                aria-current=${m.id === mail.open ? "true" : undefined}
                onClick=${() => act.openMail(m.id)}>${subjectText(m)}</button>
            </td>
          </tr>`,
        )}
      </tbody>
    </table>
    <p id="mail-empty" class="empty" hidden=${!mail.mails || list.length > 0}>No mail caught yet.</p>
    ${open
      ? html`<div class="mail-reading">
          <${MailMessage} m=${open} act=${act} />
          <${ReplyForm} mail=${mail} act=${act} />
        </div>`
      : null}
  `;
}
