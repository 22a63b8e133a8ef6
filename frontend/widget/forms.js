// The two forms the chat can show in its log: leave a message (no agent available) and the
// rating after an agent closed the chat. Their fields live in the state (the store), so a
// re-render never loses what the customer typed; an error line is tied to its field with
// aria-describedby and announced when it appears.
import { html } from "../common/view.js";

/**
 * @typedef {import("./state.js").LeaveForm} LeaveForm
 * @typedef {import("./state.js").RatingForm} RatingForm
 * @typedef {import("./chat.js").Chat} Chat
 */

/**
 * @param {Event} event
 * @returns {string}
 */
function valueOf(event) {
  return /** @type {HTMLInputElement | HTMLTextAreaElement} */ (event.currentTarget).value;
}

/**
 * @param {{form: LeaveForm, maxChars: number, chat: Chat, idPrefix: string}} props
 */
export function LeaveMessageForm(props) {
  const form = props.form;
  const maxChars = props.maxChars;
  const chat = props.chat;
  const idPrefix = props.idPrefix;
  const emailId = `${idPrefix}-${form.key}-email`;
  const textId = `${idPrefix}-${form.key}-text`;
  return html`<form class="ha-card ha-leave" noValidate
      onSubmit=${(/** @type {Event} */ event) => {
        event.preventDefault();
        chat.submitLeave();
      }}>
    <p class="ha-card-title">Leave us a message</p>
    <label class="ha-label" for=${emailId}>Your email</label>
    <input class="ha-field" id=${emailId} type="email" autocomplete="email" required
      aria-describedby=${`${emailId}-error`} aria-invalid=${form.emailError ? "true" : undefined}
      value=${form.email}
      onInput=${(/** @type {Event} */ event) => chat.setLeaveField("email", valueOf(event))} />
    <${FieldError} id=${`${emailId}-error`} message=${form.emailError} />
    <label class="ha-label" for=${textId}>Message</label>
    <textarea class="ha-field" id=${textId} rows="3" required maxlength=${String(maxChars)}
      aria-describedby=${`${textId}-error`} aria-invalid=${form.textError ? "true" : undefined}
      value=${form.text}
      onInput=${(/** @type {Event} */ event) => chat.setLeaveField("text", valueOf(event))}></textarea>
    <${FieldError} id=${`${textId}-error`} message=${form.textError} />
    <button type="submit" class="ha-primary" disabled=${form.sending}>
      ${form.sending ? "Sending…" : "Leave message"}
    </button>
  </form>`;
}

/**
 * @param {{id: string, message: string}} props
 */
function FieldError(props) {
  const id = props.id;
  const message = props.message;
  return html`<p class="ha-field-error" id=${id} role="alert" hidden=${!message}>${message}</p>`;
}

const STARS = [1, 2, 3, 4, 5];

/**
 * 1–5 stars as real radio buttons (arrow keys move between them), and an optional comment.
 * @param {{form: RatingForm, maxChars: number, chat: Chat, idPrefix: string}} props
 */
export function RatingForm(props) {
  const form = props.form;
  const maxChars = props.maxChars;
  const chat = props.chat;
  const idPrefix = props.idPrefix;
  const group = `${idPrefix}-${form.key}-star`;
  const commentId = `${idPrefix}-${form.key}-comment`;
  return html`<form class="ha-card ha-rating"
      onSubmit=${(/** @type {Event} */ event) => {
        event.preventDefault();
        chat.submitRating();
      }}>
    <fieldset class="ha-stars">
      <legend class="ha-card-title">How did we do?</legend>
      ${STARS.map(
        (score) => html`<input class="ha-star-input" type="radio" name=${group}
            value=${String(score)} id=${`${group}-${score}`} checked=${form.score === score}
            onChange=${() => chat.setStars(score)} />
          <label class=${score <= form.score ? "ha-star ha-on" : "ha-star"} for=${`${group}-${score}`}>
            <span class="ha-star-glyph" aria-hidden="true">★</span>
            <span class="ha-sr">${score === 1 ? "1 star" : `${score} stars`}</span>
          </label>`,
      )}
    </fieldset>
    <label class="ha-label" for=${commentId}>Comment (optional)</label>
    <textarea class="ha-field" id=${commentId} rows="2" maxlength=${String(maxChars)}
      value=${form.comment}
      onInput=${(/** @type {Event} */ event) => chat.setComment(valueOf(event))}></textarea>
    <div class="ha-card-actions">
      <button type="submit" class="ha-primary" disabled=${form.sending}>
        ${form.sending ? "Sending…" : "Send rating"}
      </button>
    </div>
  </form>`;
}
