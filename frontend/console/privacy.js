// The Privacy tab (admins only): export everything held about one customer as a JSON file, erase
// it everywhere (behind a confirmation that names what goes), and the erasure log: who erased,
// when, by what kind of subject and how much. The log never holds the email or order number,
// and neither does this page once the form is cleared.
import { fieldOf } from "../common/forms.js";
import { html } from "../common/view.js";
import { dateTimeText } from "./archive.js";
import { ERASED_KINDS, erasedText, subjectKindText } from "./privacy_state.js";

/**
 * @typedef {import("./privacy_state.js").PrivacyState} PrivacyState
 * @typedef {import("./privacy_state.js").Erasure} Erasure
 * @typedef {import("./controller.js").Actions} Actions
 */

/** @param {{erasures: Erasure[] | null, error: string, act: Actions}} props */
function ErasureLog(props) {
  // The API lists the oldest first; the newest is what an admin looks for.
  const list = (props.erasures || []).slice().reverse();
  return html`<section class="erasures" aria-labelledby="erasures-title">
    <div class="page-head">
      <h3 id="erasures-title">Erasure log</h3>
      <button type="button" class="btn btn-ghost btn-sm" id="erasures-refresh" onClick=${() => props.act.loadErasures()}>
        Refresh</button>
    </div>
    <p id="erasures-error" class="form-error" role="alert" hidden=${!props.error}>${props.error}</p>
    <table class="table" id="erasures">
      <thead>
        <tr>
          <th scope="col">When</th><th scope="col">By</th><th scope="col">Found by</th>
          <th scope="col">Conversations</th><th scope="col">Erased</th>
        </tr>
      </thead>
      <tbody id="erasures-body">
        ${list.map(
          (e, i) => html`<tr key=${e.id != null ? e.id : `at-${i}`}>
            <td class="nowrap">${dateTimeText(e.at)}</td>
            <td>${e.actor}</td>
            <td>${subjectKindText(e.subject_kind)}</td>
            <td>${String(Number(e.conversations) || 0)}</td>
            <td class="erased-details">${erasedText(e.details)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <p id="erasures-empty" class="empty" hidden=${!props.erasures || list.length > 0}>No erasures yet.</p>
  </section>`;
}

/** @param {{privacy: PrivacyState, act: Actions}} props */
export function Privacy(props) {
  const p = props.privacy;
  const act = props.act;

  /**
   * @param {Event} event
   * @returns {[string, string]} the email and the order number typed
   */
  function subjectOf(event) {
    const target = /** @type {HTMLButtonElement | HTMLFormElement} */ (event.currentTarget);
    const form = target instanceof HTMLFormElement ? target : target.form;
    return form ? [fieldOf(form, "email"), fieldOf(form, "order_number")] : ["", ""];
  }

  /** @param {Event} event */
  function exportData(event) {
    event.preventDefault();
    const subject = subjectOf(event);
    act.exportData(subject[0], subject[1]);
  }

  /** @param {Event} event */
  async function erase(event) {
    const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
    const subject = subjectOf(event);
    // Once erased, the customer's email or order number is not left on the screen either.
    if ((await act.eraseData(subject[0], subject[1])) && button.form) button.form.reset();
  }

  let result = "";
  if (p.busy === "export") result = "Exporting…";
  else if (p.busy === "erase") result = "Erasing…";
  else if (p.exported) result = `Export downloaded: ${p.exported}`;
  return html`
    <div class="page-head">
      <h2>Privacy</h2>
    </div>
    <p class="privacy-intro">
      Everything held about one customer: their live and archived conversations, the assistant's
      records of them, tickets and unanswered questions. Name the customer by an email address or
      an order number.
    </p>
    <form id="privacy-form" class="privacy-form" novalidate onSubmit=${exportData}>
      <div class="field">
        <label for="privacy-email">Customer's email address</label>
        <input id="privacy-email" name="email" type="email" autocomplete="off" maxlength="254" />
      </div>
      <span class="or">or</span>
      <div class="field">
        <label for="privacy-order">Customer's order number</label>
        <input id="privacy-order" name="order_number" autocomplete="off" maxlength="254" placeholder="HG-10042" />
      </div>
      <div class="privacy-actions">
        <button type="submit" id="privacy-export" class="btn btn-primary" disabled=${!!p.busy}>Export</button>
        <button type="button" id="privacy-erase" class="btn btn-danger-ghost" disabled=${!!p.busy} onClick=${erase}>
          Erase everything…</button>
      </div>
    </form>
    <p id="privacy-error" class="form-error" role="alert" hidden=${!p.error}>${p.error}</p>
    <div id="privacy-result" class="privacy-result" role="status">
      ${result ? html`<p>${result}</p>` : null}
      ${p.erased
        ? html`<div class="erased" id="privacy-erased">
            <p><strong>Erased.</strong> Nothing of this customer is left in the service:</p>
            <ul class="erased-counts">
              ${ERASED_KINDS.map(
                (kind) => html`<li key=${kind[0]} data-kind=${kind[0]}>
                  <span class="erased-count">${String(Number(/** @type {Record<string, number>} */ (p.erased)[kind[0]]) || 0)}</span>
                  ${" "}${Number(/** @type {Record<string, number>} */ (p.erased)[kind[0]]) === 1 ? kind[1] : kind[2]}
                </li>`,
              )}
            </ul>
          </div>`
        : null}
    </div>
    <${ErasureLog} erasures=${p.erasures} error=${p.erasuresError} act=${act} />
  `;
}
