// The middle column: the chat on screen with its header and actions (transfer, return to the
// assistant, close), the transcript, the customer's typing indicator, suggested answers and the
// composer with canned responses.
import { fieldOf } from "../common/forms.js";
import { html, useRef } from "../common/view.js";
import { FollowUpControl } from "./follow_up.js";
import { conversationOf } from "./state.js";
import { titleOf } from "./queue.js";
import { Transcript } from "./transcript.js";
import { sentence, stateLabel } from "./words.js";

/**
 * @typedef {import("./state.js").ConsoleState} ConsoleState
 * @typedef {import("./state.js").Suggestions} Suggestions
 * @typedef {import("./controller.js").Actions} Actions
 */

/**
 * A suggested answer's topic as agents read it: "faq/refund_time" → "refund time".
 * @param {string} key
 */
export function topicName(key) {
  return String(key).replace(/^faq\//, "");
}

/**
 * The tags typed into the close form: comma-separated, trimmed, at most 20.
 * @param {string} text
 * @returns {string[]}
 */
export function tagsOf(text) {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean)
    .slice(0, 20);
}

/**
 * @param {{suggestions: Suggestions | null, insert: (text: string) => void}} props
 */
function SuggestedAnswers(props) {
  const suggestions = props.suggestions;
  const insert = props.insert;
  const items = suggestions ? suggestions.items : [];
  return html`<div id="suggestions" class="suggestions" aria-live="polite" hidden=${!items.length}>
    <h3 class="suggestions-title">Suggested answers <span id="suggestions-for" class="suggestions-for">
      ${suggestions ? `for “${suggestions.message.slice(0, 60)}”` : ""}</span></h3>
    <ul id="suggestions-list" class="suggestions-list">
      ${items.map((s) => {
        const percent = `${Math.round((Number(s.confidence) || 0) * 100)}%`;
        return html`<li key=${s.key} class="suggestion">
          <div class="suggestion-head">
            <span class="suggestion-key">${topicName(s.key).replace(/_/g, " ")}</span>
            <span class="suggestion-conf">${percent} match</span>
          </div>
          <p class="suggestion-text">${s.answer}</p>
          <button type="button" class="btn btn-ghost btn-sm"
            aria-label=${`Insert suggested answer: ${topicName(s.key)} (${percent})`}
            onClick=${() => insert(s.answer)}>Insert</button>
        </li>`;
      })}
    </ul>
  </div>`;
}

/** @param {{state: ConsoleState, act: Actions}} props */
export function Chat(props) {
  const state = props.state;
  const act = props.act;
  const composer = useRef(/** @type {HTMLTextAreaElement | null} */ (null));
  const cid = state.selected;
  if (!cid) {
    return html`<div id="chat-empty" class="chat-empty">
      <p class="chat-empty-title">No conversation selected</p>
      <p>Claim a chat from the queue or pick one of your chats.</p>
    </div>`;
  }
  const c = conversationOf(state, cid);
  const mine = state.active.includes(cid);
  const sub = [c.state ? stateLabel(c.state) : "", c.packet && c.packet.reason_text ? sentence(c.packet.reason_text) : ""]
    .filter(Boolean)
    .join(" · ");
  const agentName = (state.profile && state.profile.display_name) || "";
  // The customer gave an email address (a left message, or their verified order's).
  const email = !!(c.fields && c.fields.customer_email);

  /**
   * Put a suggested answer or canned response into the reply, after what is typed already.
   * @param {string} text
   */
  function insert(text) {
    const input = composer.current;
    if (!input || input.disabled) return;
    input.value = input.value.trim() ? `${input.value.replace(/\s+$/, "")} ${text}` : text;
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  /** @param {Event} event */
  function send(event) {
    event.preventDefault();
    const input = composer.current;
    if (input && act.sendMessage(input.value.trim())) input.value = "";
  }

  /** @param {KeyboardEvent} event */
  function onComposerKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const form = /** @type {HTMLTextAreaElement} */ (event.currentTarget).form;
      if (form) form.requestSubmit();
    }
  }

  /** @param {Event} event */
  function onCanned(event) {
    const select = /** @type {HTMLSelectElement} */ (event.currentTarget);
    const text = select.value;
    select.selectedIndex = 0;
    if (text) insert(text.replace(/\{agent\}/g, agentName));
  }

  /** @param {Event} event */
  function transfer(event) {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    const agent = fieldOf(form, "to_agent").trim();
    act.transfer(agent ? { to_agent: agent } : { to_team: fieldOf(form, "to_team") });
  }

  /** @param {Event} event */
  function close(event) {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    const notes = fieldOf(form, "notes").trim();
    const transcript = /** @type {HTMLInputElement | null} */ (form.elements.namedItem("email_transcript"));
    if (act.close(notes, tagsOf(fieldOf(form, "tags")), !!(transcript && transcript.checked))) form.reset();
  }

  return html`<div id="chat" class="chat">
    <header class="chat-header">
      <div>
        <h2 id="chat-title" class="chat-title">${titleOf(state, cid)}</h2>
        <p id="chat-sub" class="chat-sub">${sub}</p>
      </div>
      <div class="chat-actions" id="chat-actions">
        <button type="button" class="btn btn-ghost" id="act-transfer" disabled=${!mine}
          aria-expanded=${state.actionForm === "transfer" ? "true" : "false"} aria-controls="transfer-form"
          onClick=${() => act.toggleForm("transfer")}>Transfer</button>
        <button type="button" class="btn btn-ghost" id="act-return" disabled=${!mine}
          onClick=${() => act.returnToBot()}>Return to bot</button>
        <button type="button" class="btn btn-danger-ghost" id="act-close" disabled=${!mine}
          aria-expanded=${state.actionForm === "close" ? "true" : "false"} aria-controls="close-form"
          onClick=${() => act.toggleForm("close")}>Close</button>
      </div>
    </header>
    <form id="transfer-form" class="action-form" hidden=${state.actionForm !== "transfer"} onSubmit=${transfer}>
      <label for="transfer-team">Team</label>
      <select id="transfer-team" name="to_team">
        ${((state.profile && state.profile.teams) || []).map((t) => html`<option key=${t} value=${t}>${t}</option>`)}
      </select>
      <span class="or">or</span>
      <label for="transfer-agent">Agent name</label>
      <input id="transfer-agent" name="to_agent" placeholder="user name (optional)" />
      <button type="submit" class="btn btn-primary">Transfer chat</button>
    </form>
    <form id="close-form" class="action-form" hidden=${state.actionForm !== "close"} onSubmit=${close}>
      <label for="close-notes">Notes</label>
      <textarea id="close-notes" name="notes" rows="2" maxlength="4000"></textarea>
      <label for="close-tags">Tags (comma-separated)</label>
      <input id="close-tags" name="tags" placeholder="refund, shipping" />
      <label class="check" for="close-email-transcript">
        <input type="checkbox" id="close-email-transcript" name="email_transcript" disabled=${!email} />
        Email the transcript to the customer${email ? "" : " (no email address given)"}
      </label>
      <button type="submit" class="btn btn-danger">Close chat</button>
    </form>
    <${FollowUpControl} cid=${cid} panel=${state.followUps[cid]} email=${email} act=${act} />
    <${Transcript} cid=${cid} conversation=${c} />
    <div id="customer-typing" class="typing" role="status" hidden=${!c.typing}>Customer is typing…</div>
    <${SuggestedAnswers} suggestions=${state.suggestions} insert=${insert} />
    <form id="composer" class="composer" onSubmit=${send}>
      <div class="composer-tools">
        <label for="canned" class="sr-only">Insert a canned response</label>
        <select id="canned" class="canned" disabled=${!mine} onChange=${onCanned}>
          <option value="">Canned responses…</option>
          ${state.canned.map((r, i) => html`<option key=${i} value=${r.text}>${r.title}</option>`)}
        </select>
      </div>
      <label for="composer-input" class="sr-only">Reply to the customer</label>
      <textarea id="composer-input" rows="2" ref=${composer} disabled=${!mine}
        placeholder=${mine
          ? "Write a reply… (Enter to send, Shift+Enter for a new line)"
          : "This chat is not assigned to you."}
        onKeyDown=${onComposerKey} onInput=${() => act.typed()}></textarea>
      <button type="submit" class="btn btn-primary" id="composer-send" disabled=${!mine}>Send</button>
    </form>
  </div>`;
}
