// The follow-up email of the chat on screen: "Follow up by email in N days", and what became of
// the one scheduled (GET/POST/DELETE /api/conversations/{id}/follow-up; handoff/email/
// follow_up.py). Some days later the customer is emailed asking whether it was resolved, with
// one-click ratings that come back into the chat and the dashboard's CSAT.
//
// Here: the control's slice of the state (by conversation) and its reducer, the words for a
// follow-up, the loader the controller calls, and the component. Everything is rendered as text.
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
 * }} FollowUp
 * @typedef {{status: "loading" | "done" | "error", followUp: FollowUp | null, busy: boolean, message: string}} FollowUpPanel
 *   `message`: why the last change was refused ("" when it was not).
 * @typedef {(
 *   | {type: "follow-up-loading", conversation: string}
 *   | {type: "follow-up", conversation: string, followUp: FollowUp | null}
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
const ANSWERS = ["", "not resolved at all", "mostly not resolved", "partly resolved", "mostly resolved", "completely resolved"];

/** @returns {FollowUpPanel} */
function blank() {
  return { status: "loading", followUp: null, busy: false, message: "" };
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
      return { ...panels, [action.conversation]: { status: "done", followUp: action.followUp, busy: false, message: "" } };
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
      return "The follow-up email was not sent: there was no email address to send it to.";
    default:
      return "";
  }
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
      deps.dispatch({ type: "follow-up", conversation: cid, followUp: data && data.follow_up ? data.follow_up : null });
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

  /** @param {Event} event */
  function submit(event) {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    const input = /** @type {HTMLInputElement | null} */ (form.elements.namedItem("days"));
    const days = Math.round(Number(input ? input.value : DEFAULT_DAYS));
    act.scheduleFollowUp(cid, Math.min(MAX_DAYS, Math.max(1, days || DEFAULT_DAYS)));
  }

  let status = "";
  if (panel.status === "loading" && !followUp) status = "";
  else if (panel.status === "error") status = "The follow-up could not be read just now.";
  else status = followUpText(followUp);
  return html`<form id="follow-up" class="follow-up" aria-labelledby="follow-up-label" onSubmit=${submit}>
    <label id="follow-up-label" for="follow-up-days">Follow up by email in</label>
    <input id="follow-up-days" name="days" type="number" min="1" max=${MAX_DAYS} step="1"
      value=${String(DEFAULT_DAYS)} disabled=${!props.email} aria-describedby="follow-up-status" />
    <span>days</span>
    <button type="submit" class="btn btn-ghost btn-sm" id="follow-up-schedule"
      disabled=${!props.email || panel.busy}>${scheduled ? "Reschedule" : "Schedule"}</button>
    ${scheduled
      ? html`<button type="button" class="btn btn-ghost btn-sm" id="follow-up-cancel" disabled=${panel.busy}
          onClick=${() => act.cancelFollowUp(cid)}>Cancel follow-up</button>`
      : null}
    <p id="follow-up-status" class="follow-up-status" role="status">${props.email || followUp ? status : NO_EMAIL_TEXT}</p>
    ${panel.message ? html`<p class="follow-up-error" role="alert">${panel.message}</p>` : null}
  </form>`;
}
