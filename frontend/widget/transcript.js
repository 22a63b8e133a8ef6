// The message log: the local greeting, then one element per transcript entry, keyed by the
// entry's key, so a new message adds one element and leaves the others as they are (a focused
// quick reply or a half-filled form keeps its focus and its text; a screen reader is not read
// the log again). Text from the network is passed to Preact as text, never as markup.
import { clockTime } from "../common/format.js";
import { Unchanging, html, useLayoutEffect, useRef } from "../common/view.js";
import { LeaveMessageForm, RatingForm } from "./forms.js";

/**
 * @typedef {import("./state.js").WidgetState} WidgetState
 * @typedef {import("./state.js").Entry} Entry
 * @typedef {import("./state.js").MessageEntry} MessageEntry
 * @typedef {import("./state.js").LeaveForm | import("./state.js").RatingForm} FormFields
 * @typedef {import("./chat.js").Chat} Chat
 */

/**
 * @param {{state: WidgetState, chat: Chat, greeting: string, idPrefix: string}} props
 */
export function Transcript(props) {
  const state = props.state;
  const chat = props.chat;
  const greeting = props.greeting;
  const idPrefix = props.idPrefix;
  const log = useRef(/** @type {HTMLDivElement | null} */ (null));
  const last = state.entries.length ? state.entries[state.entries.length - 1].key : "";
  // Follow the conversation: scroll to the newest entry when one is added or the panel opens
  // (not on every keystroke in a form).
  useLayoutEffect(() => {
    const node = log.current;
    if (node) node.scrollTop = node.scrollHeight;
  }, [last, state.entries.length, state.open]);
  return html`<div class="ha-log" ref=${log} role="log" aria-live="polite"
      aria-label="Chat messages" tabindex="0">
    <div class="ha-msg ha-from-bot ha-greeting"><p class="ha-bubble">${greeting}</p></div>
    ${state.entries.map(
      (entry) => html`<${TranscriptEntry} key=${entry.key} entry=${entry}
        form=${entry.kind === "leave" ? state.leave : entry.kind === "rating" ? state.rating : null}
        maxChars=${state.maxChars} chat=${chat} idPrefix=${idPrefix} />`,
    )}
  </div>`;
}

/**
 * @typedef {{
 *   entry: Entry, form: FormFields | null, maxChars: number, chat: Chat,
 *   idPrefix: string,
 * }} EntryProps
 */

/**
 * One entry of the log. Entries are immutable, so one whose props are the same objects as last
 * time is not even compared again: typing in the composer redraws the panel, not 300 bubbles
 * (each with its clock time to format).
 * @extends {Unchanging<EntryProps>}
 */
class TranscriptEntry extends Unchanging {
  /** @param {EntryProps} props */
  render(props) {
    const entry = props.entry;
    const chat = props.chat;
    switch (entry.kind) {
      case "message":
        return html`<${Bubble} entry=${entry} />`;
      case "system":
        return html`<div class=${entry.tone ? `ha-system ha-system-${entry.tone}` : "ha-system"}>${entry.text}</div>`;
      case "quick":
        return html`<div class="ha-quick" role="group" aria-label="Suggested replies">
          ${entry.buttons.map(
            (reply, index) => html`<button type="button" class="ha-quick-btn" key=${index}
              onClick=${() => chat.chooseQuickReply(reply)}>${reply.title}</button>`,
          )}
        </div>`;
      case "leave":
        return props.form && "email" in props.form
          ? html`<${LeaveMessageForm} form=${props.form} maxChars=${props.maxChars} chat=${chat}
              idPrefix=${props.idPrefix} />`
          : null;
      case "rating":
        return props.form && "score" in props.form
          ? html`<${RatingForm} form=${props.form} maxChars=${props.maxChars} chat=${chat}
              idPrefix=${props.idPrefix} />`
          : null;
      default:
        return null;
    }
  }
}

/**
 * One message: who wrote it (the assistant, the agent's name), the text, the time; the
 * customer's own are marked while sending and when refused.
 * @param {{entry: MessageEntry}} props
 */
function Bubble(props) {
  const entry = props.entry;
  let cls = `ha-msg ha-from-${entry.from}`;
  if (entry.delivery === "sending") cls += " ha-pending";
  else if (entry.delivery === "failed") cls += " ha-failed";
  return html`<div class=${cls} data-id=${entry.id || undefined}
      data-client-id=${entry.local && entry.clientId ? entry.clientId : undefined}>
    ${entry.who ? html`<span class="ha-who">${entry.who}</span>` : null}
    <p class="ha-bubble">${entry.text}</p>
    <span class="ha-meta">${clockTime(entry.at)}</span>
  </div>`;
}
