// The widget drawn from the one state object: a launcher button and the chat panel (header,
// connection banner, log, typing line, queue box, notice, composer). Everything is always in
// the DOM and shown or hidden with `hidden`, so the live regions (role=status, role=alert)
// exist before what they announce. The element structure, class names and ARIA attributes are
// the widget's contract with shops' CSS expectations and with the browser tests.
import { html, useEffect, useLayoutEffect, useRef, useState } from "../common/view.js";
import { connectionText, queueText, statusText, typingText } from "./state.js";
import { Transcript } from "./transcript.js";

/**
 * @typedef {import("./state.js").WidgetState} WidgetState
 * @typedef {import("./state.js").Connection} Connection
 * @typedef {import("./chat.js").Chat} Chat
 * @typedef {{
 *   title: string, greeting: string, colour: string, stylesheet: string, panelId: string,
 * }} WidgetConfig
 */

const CHAT_ICON = ["M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"];
const CLOSE_ICON = ["M6 6l12 12M18 6L6 18"];
const SEND_ICON = ["M3 20l18-8L3 4v6l12 2-12 2z"];

/**
 * @param {{paths: string[], cls?: string}} props
 */
function Icon(props) {
  const paths = props.paths;
  const cls = props.cls;
  return html`<svg class=${cls} viewBox="0 0 24 24" width="24" height="24" aria-hidden="true"
      focusable="false">${paths.map((d) => html`<path d=${d} />`)}</svg>`;
}

/**
 * Everything in the widget's shadow root: its stylesheet and its root element.
 * @param {{state: WidgetState, chat: Chat, config: WidgetConfig}} props
 */
export function Widget(props) {
  const state = props.state;
  const chat = props.chat;
  const config = props.config;
  const connection = state.connection;
  return html`<link rel="stylesheet" href=${config.stylesheet} />
    <div class="ha-root" style=${{ "--ha-color": config.colour }}
        data-state=${state.open ? "open" : "closed"} data-chat-state=${state.chat}
        data-connection=${connection.status || undefined}
        data-backoff=${connection.backoff ? String(connection.backoff) : undefined}
        onKeyDown=${(/** @type {KeyboardEvent} */ event) => {
          if (event.key === "Escape" && state.open) {
            event.preventDefault();
            chat.closePanel();
          }
        }}>
      <${Panel} state=${state} chat=${chat} config=${config} />
      <button type="button" class="ha-launcher" aria-expanded=${state.open ? "true" : "false"}
          aria-controls=${config.panelId}
          aria-label=${state.open ? "Close chat" : `Open chat: ${config.title}`}
          onClick=${() => chat.togglePanel()}>
        <${Icon} paths=${CHAT_ICON} cls="ha-icon-chat" />
        <${Icon} paths=${CLOSE_ICON} cls="ha-icon-close" />
        <span class=${state.unread ? "ha-badge ha-show" : "ha-badge"} aria-hidden="true"></span>
      </button>
    </div>`;
}

/**
 * @param {{state: WidgetState, chat: Chat, config: WidgetConfig}} props
 */
function Panel(props) {
  const state = props.state;
  const chat = props.chat;
  const config = props.config;
  const titleId = `${config.panelId}-title`;
  const closed = state.chat === "closed";
  const queue = queueText(state.queue);
  const typing = typingText(state);
  // Not a <header>: inside the shop page it would be a second banner landmark beside the shop's.
  return html`<section class="ha-panel" id=${config.panelId} role="dialog"
      aria-labelledby=${titleId} aria-modal="false" hidden=${!state.open}>
    <div class="ha-header">
      <div class="ha-heading">
        <h2 class="ha-title" id=${titleId}>${config.title}</h2>
        <p class="ha-status">${statusText(state)}</p>
      </div>
      <button type="button" class="ha-close" aria-label="Close chat"
          onClick=${() => chat.closePanel()}><${Icon} paths=${CLOSE_ICON} /></button>
    </div>
    <${ConnectionBanner} connection=${state.connection} chat=${chat} />
    <${Transcript} state=${state} chat=${chat} greeting=${config.greeting}
      idPrefix=${config.panelId} />
    <div class="ha-typing" role="status" hidden=${!typing}>
      <span class="ha-dots" aria-hidden="true"><span></span><span></span><span></span></span>
      <span class="ha-typing-text">${typing}</span>
    </div>
    <div class="ha-queue" role="status" hidden=${state.chat !== "queued"}>
      <p class="ha-queue-text">${queue.place}</p>
      <p class="ha-queue-wait">${queue.wait}</p>
      <button type="button" class="ha-link-btn" onClick=${() => chat.leaveQueue()}>Leave the queue</button>
    </div>
    <div class="ha-notice" role="alert" hidden=${!state.notice.text}>${state.notice.text}</div>
    <${Composer} state=${state} chat=${chat} inputId=${`${config.panelId}-input`} />
    ${state.transcriptLink
      ? html`<a class="ha-download ha-download-standalone" href="#"
          onClick=${(/** @type {Event} */ event) => {
            event.preventDefault();
            chat.downloadTranscript();
          }}>Download transcript</a>`
      : null}
    <button type="button" class="ha-newchat" hidden=${!closed}
      onClick=${() => chat.newChat()}>Start a new chat</button>
  </section>`;
}

/**
 * "Connection lost. Reconnecting in 4 s…", counting down each second while it is shown.
 * @param {{connection: Connection, chat: Chat}} props
 */
function ConnectionBanner(props) {
  const connection = props.connection;
  const chat = props.chat;
  const tick = useState(0)[1];
  useEffect(() => {
    if (!connection.shown) return undefined;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [connection.shown, connection.retryAt]);
  return html`<div class="ha-conn" role="status" hidden=${!connection.shown}>
    <span class="ha-conn-text">${connection.shown ? connectionText(connection, Date.now()) : "Reconnecting…"}</span>
    <button type="button" class="ha-conn-retry" onClick=${() => chat.retryNow()}>Retry now</button>
  </div>`;
}

/**
 * The message box: Enter sends, Shift+Enter starts a new line; it grows with its text up to
 * 120 px. Closed chats have none (the "Start a new chat" button takes its place).
 * @param {{state: WidgetState, chat: Chat, inputId: string}} props
 */
function Composer(props) {
  const state = props.state;
  const chat = props.chat;
  const inputId = props.inputId;
  const input = useRef(/** @type {HTMLTextAreaElement | null} */ (null));
  const drawn = useRef(false);
  useLayoutEffect(() => {
    const node = input.current;
    // Not on the first drawing: the box keeps its CSS height until the customer types.
    if (!drawn.current || !node) {
      drawn.current = true;
      return;
    }
    node.style.height = "auto";
    node.style.height = `${Math.min(node.scrollHeight, 120)}px`;
  }, [state.draft]);
  const closed = state.chat === "closed";
  return html`<form class="ha-composer" noValidate hidden=${closed}
      onSubmit=${(/** @type {Event} */ event) => {
        event.preventDefault();
        chat.submitDraft();
      }}>
    <label class="ha-sr" for=${inputId}>Type your message</label>
    <textarea ref=${input} class="ha-input" id=${inputId} rows="1"
      placeholder="Type your message…" autocomplete="off" maxlength=${String(state.maxChars)}
      disabled=${closed} value=${state.draft}
      onInput=${(/** @type {Event} */ event) =>
        chat.typeDraft(/** @type {HTMLTextAreaElement} */ (event.currentTarget).value)}
      onKeyDown=${(/** @type {KeyboardEvent} */ event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          chat.submitDraft();
        }
      }}></textarea>
    <button type="submit" class="ha-send" aria-label="Send message" disabled=${closed}>
      <${Icon} paths=${SEND_ICON} />
    </button>
  </form>`;
}
