// The follow-up email of the chat on screen: "Follow up by email in N days", and what became of
// the one scheduled (GET/POST/DELETE /api/conversations/{id}/follow-up; handoff/email/
// follow_up.py). Some days later the customer is emailed asking whether it was resolved, with
// one-click ratings that come back into the chat and the dashboard's CSAT.
//
// Here: the control's slice of the state (by conversation) and its reducer, the words for a
// follow-up, the loader the controller calls, and the component. Everything is rendered as text.
// The days offered are those the server allows: every answer carries `max_days` (no further
// than a closed chat is kept, so a follow-up still finds its chat when it is due).
import { ApiError, UNREACHABLE } from "../common/api.js";
import { html } from "../common/view.js";

/**
 * @typedef {{
 *   id: string,
 *   state: "scheduled" | "sent" | "rated" | "cancelled" | "skipped",
 *   due_at: number,
 *   days: number,
 *   by: string,
 *   sent_at?: number | null,
 *   rating?: number | null,
 *   rated_at?: number | null,
 *   skipped?: string | null,
 * }} FollowUp
 *   `skipped`: why a skipped one was not sent, "chat_gone" or "no_email".
 * @typedef {{
 *   status: "loading" | "done" | "error",
 *   followUp: FollowUp | null,
 *   maxDays: number | null,
 *   busy: boolean,
 *   message: string,
 * }} FollowUpPanel
 *   `maxDays`: the most days ahead the server allows (null until it has said);
 *   `message`: why the last change was refused ("" when it was not).
 * @typedef {(
 *   | {type: "follow-up-loading", conversation: string}
 *   | {type: "follow-up", conversation: string, followUp: FollowUp | null, maxDays: number | null}
 *   | {type: "follow-up-failed", conversation: string, message: string}
 * )} FollowUpAction
 * @typedef {{
 *   scheduleFollowUp: (cid: string, days: number) => void,
 *   cancelFollowUp: (cid: string) => void,
 * }} FollowUpActions
 */

export const DEFAULT_DAYS = 3;
export const MAX_DAYS = 28;
export const NO_EMAIL_TEXT = "No follow-up possible: the customer gave no email address.";
export const NO_DAYS_TEXT = "No follow-up possible: closed chats are kept less than a day here.";
const ANSWERS = ["", "not resolved at all", "mostly not resolved", "partly resolved", "mostly resolved", "completely resolved"];

/** @returns {FollowUpPanel} */
function blank() {
  return { status: "loading", followUp: null, maxDays: null, busy: false, message: "" };
}

/**
 * @param {Record<string, FollowUpPanel>} panels by conversation
 * @param {FollowUpAction} action
 * @returns {Record<string, FollowUpPanel>}
 */
export function followUpReducer(panels, action) {
  const panel = panels[action.conversation] || blank();
  switch (action.type) {
    case "follow-up-loading":
      return { ...panels, [action.conversation]: { ...panel, busy: true, message: "" } };
    case "follow-up":
      return {
        ...panels,
        [action.conversation]: {
          status: "done",
          followUp: action.followUp,
          maxDays: action.maxDays === null ? panel.maxDays : action.maxDays,
          busy: false,
          message: "",
        },
      };
    case "follow-up-failed":
      return {
        ...panels,
        [action.conversation]: { ...panel, status: panel.status === "loading" ? "error" : panel.status, busy: false, message: action.message },
      };
    default:
      return panels;
  }
}

/**
 * A day as agents read it: "Tuesday 9 December".
 * @param {number} ms
 */
export function dayText(ms) {
  return new Date(ms).toLocaleDateString("en-GB", { weekday: "long", day: "numeric", month: "long" });
}

/**
 * What became of a follow-up, in one sentence.
 * @param {FollowUp | null} followUp
 * @returns {string}
 */
export function followUpText(followUp) {
  if (!followUp) return "No follow-up email is scheduled.";
  const by = followUp.by && followUp.by.startsWith("rule:") ? " (automatically, for a delayed order)" : "";
  switch (followUp.state) {
    case "scheduled":
      return `Follow-up email scheduled for ${dayText(followUp.due_at)}${by}.`;
    case "sent":
      return `Follow-up email sent${followUp.sent_at ? ` on ${dayText(followUp.sent_at)}` : ""}; no answer yet.`;
    case "rated": {
      const score = Number(followUp.rating) || 0;
      return `The customer answered the follow-up email: ${score} of 5 (${ANSWERS[score] || "rated"}).`;
    }
    case "cancelled":
      return "The follow-up email was cancelled.";
    case "skipped":
      if (followUp.skipped === "chat_gone") return "The follow-up email was not sent: the chat was no longer kept.";
      if (followUp.skipped === "no_email") return "The follow-up email was not sent: there was no email address to send it to.";
      return "The follow-up email was not sent.";
    default:
      return "";
  }
}

/**
 * The days the control offers: 1 to `max`, what the server allows (0: none, also until it has
 * said), starting at `value`.
 * @param {number | null} maxDays
 * @returns {{max: number, value: number}}
 */
export function dayChoice(maxDays) {
  const max = maxDays === null ? 0 : Math.max(0, Math.min(MAX_DAYS, Math.floor(maxDays)));
  return { max, value: max === 0 ? DEFAULT_DAYS : Math.min(DEFAULT_DAYS, max) };
}

/**
 * The server's refusal in words.
 * @param {unknown} err
 */
export function refusal(err) {
  if (err instanceof ApiError) return err.status === 0 ? UNREACHABLE : err.message;
  return String(err);
}

/**
 * The control's requests, for the controller; an answer that comes after a sign-out
 * (`current()` changed) is dropped.
 * @param {{
 *   api: (method: string, path: string, body?: unknown) => Promise<any>,
 *   dispatch: (action: FollowUpAction) => void,
 *   current: () => number,
 * }} deps
 */
export function createFollowUpLoader(deps) {
  /**
   * @param {string} cid
   * @param {string} method
   * @param {unknown} [body]
   */
  async function call(cid, method, body) {
    const started = deps.current();
    deps.dispatch({ type: "follow-up-loading", conversation: cid });
    try {
      const data = await deps.api(method, `/api/conversations/${encodeURIComponent(cid)}/follow-up`, body);
      if (started !== deps.current()) return;
      deps.dispatch({
        type: "follow-up",
        conversation: cid,
        followUp: data && data.follow_up ? data.follow_up : null,
        maxDays: data && typeof data.max_days === "number" ? data.max_days : null,
      });
    } catch (err) {
      if (started === deps.current()) deps.dispatch({ type: "follow-up-failed", conversation: cid, message: refusal(err) });
    }
  }
  return {
    /** @param {string} cid */
    load: (cid) => call(cid, "GET"),
    /**
     * @param {string} cid
     * @param {number} days
     */
    schedule: (cid, days) => call(cid, "POST", { days }),
    /** @param {string} cid */
    cancel: (cid) => call(cid, "DELETE"),
  };
}

/**
 * @param {{cid: string, panel: FollowUpPanel | undefined, email: boolean, act: FollowUpActions}} props
 *   `email`: the customer gave an address (the conversation's `customer_email`)
 */
export function FollowUpControl(props) {
  const cid = props.cid;
  const act = props.act;
  const panel = props.panel || blank();
  const followUp = panel.followUp;
  const scheduled = !!followUp && followUp.state === "scheduled";
  const days = dayChoice(panel.maxDays);
  // Not before the server has said which days it allows, nor when it allows none.
  const closed = !props.email || days.max === 0;

  /** @param {Event} event */
  function submit(event) {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    const input = /** @type {HTMLInputElement | null} */ (form.elements.namedItem("days"));
    const chosen = Math.round(Number(input ? input.value : days.value));
    act.scheduleFollowUp(cid, Math.min(days.max, Math.max(1, chosen || days.value)));
  }

  let status = "";
  if (panel.status === "loading" && !followUp) status = "";
  else if (panel.status === "error") status = "The follow-up could not be read just now.";
  else status = followUpText(followUp);
  if (!props.email && !followUp) status = NO_EMAIL_TEXT;
  else if (props.email && panel.maxDays === 0 && !followUp) status = NO_DAYS_TEXT;
  return html`<form id="follow-up" class="follow-up" aria-labelledby="follow-up-label" onSubmit=${submit}>
    <label id="follow-up-label" for="follow-up-days">Follow up by email in</label>
    <input id="follow-up-days" name="days" type="number" min="1" max=${days.max || days.value} step="1"
      value=${String(days.value)} disabled=${closed} aria-describedby="follow-up-status" />
    <span>days</span>
    <button type="submit" class="btn btn-ghost btn-sm" id="follow-up-schedule"
      disabled=${closed || panel.busy}>${scheduled ? "Reschedule" : "Schedule"}</button>
    ${scheduled
      ? html`<button type="button" class="btn btn-ghost btn-sm" id="follow-up-cancel" disabled=${panel.busy}
          onClick=${() => act.cancelFollowUp(cid)}>Cancel follow-up</button>`
      : null}
    <p id="follow-up-status" class="follow-up-status" role="status">${status}</p>
    ${panel.message ? html`<p class="follow-up-error" role="alert">${panel.message}</p>` : null}
  </form>`;
}
