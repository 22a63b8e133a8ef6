// The transcript of the chat on screen: a live log (role="log") that a screen reader reads out as
// entries are added. Showing another chat, or a load that brought its history, draws into a
// fresh log element (a new key) instead of streaming the whole history into the live one: that
// is not news. What arrives afterwards is appended to the log on screen and is announced.
import { clockTime } from "../common/format.js";
import { Unchanging, html, useLayoutEffect, useRef } from "../common/view.js";
import { stateLabel } from "./words.js";

/**
 * @typedef {import("./state.js").Entry} Entry
 * @typedef {import("./state.js").Conversation} Conversation
 */

/** @type {Record<string, string>} */
const EVENT_LABELS = {
  started: "Chat started",
  rated: "Customer rated the chat",
  ticket_created: "Ticket created",
};

/**
 * The line shown for an entry that is not a message (state changes, ratings, tickets).
 * @param {Entry} e
 * @returns {string}
 */
export function eventLabel(e) {
  if (e.event === "rated" && e.data && e.data.score) return `Customer rated the chat ${e.data.score}/5`;
  return (
    e.text ||
    EVENT_LABELS[e.event || ""] ||
    (e.event === "state" ? `State: ${stateLabel(e.state || "")}` : e.event || "Event")
  );
}

/**
 * How an agent's message that also went out by email is doing, in words (never colour alone):
 * "" for a message that did not go by email.
 * @param {Entry} e
 * @returns {string}
 */
export function emailStatusText(e) {
  const error = (e.email_error || "").trim();
  switch (e.email_status) {
    case "queued":
      // An error while still queued: an attempt failed, and the sender tries again.
      return error ? "Not delivered yet — retrying" : "Sending by email…";
    case "sent":
      return "Emailed";
    case "failed":
      if (/^Bounced:/.test(error)) return error;
      return error ? `Failed: ${error.replace(/^Refused:\s*/, "")}` : "Failed";
    default:
      return "";
  }
}

/**
 * @param {Entry} e
 * @returns {string}
 */
export function speaker(e) {
  if (e.from === "bot") return "Assistant";
  if (e.from === "agent") return e.agent_name || "Agent";
  if (e.from === "customer") return "Customer";
  return "System";
}

/** @param {Entry} e */
function entryView(e) {
  const emailedText = emailStatusText(e);
  const emailed = emailedText
    ? html`<span class=${`entry-email entry-email-${e.email_status}`}>${emailedText}</span>`
    : null;
  if (e.kind !== "message") {
    // An event can name a mail too (the messages an away customer missed, emailed together).
    return html`<div class="entry-event" data-client-id=${e.client_id} data-id=${e.id}>${eventLabel(e)}${emailed
      ? html` · ${emailed}`
      : null}</div>`;
  }
  const buttons = Array.isArray(e.buttons) ? e.buttons : [];
  return html`<div class=${`entry entry-${e.from}${e.pending ? " pending" : ""}`} data-client-id=${e.client_id}
    data-id=${e.id}>
    <div class="entry-meta">
      <span class="who">${speaker(e)}</span>
      ${e.from === "bot" ? html`<span class="badge badge-bot">BOT</span>` : null}
      ${e.from === "customer" && e.channel === "email" ? html`<span class="badge entry-channel">by email</span>` : null}
      <span class="at">${clockTime(e.at)}</span>
      ${emailed}
    </div>
    <div class="entry-text">${e.text}</div>
    ${buttons.length
      ? html`<div class="entry-buttons">${buttons.map((b) => html`<span class="chip">${b && b.title}</span>`)}</div>`
      : null}
  </div>`;
}

/**
 * One entry. Entries are never changed in place (the reducer replaces them), so an entry whose
 * object is the same is not drawn again: a frame does not re-format every time in a long chat.
 * The History tab draws archived transcripts with it too (history.js), so a past chat reads like
 * a live one.
 * @extends {Unchanging<{entry: Entry}>}
 */
export class EntryRow extends Unchanging {
  render() {
    return entryView(this.props.entry);
  }
}

/**
 * Whether the log being replaced had the keyboard focus: the fresh one takes it over.
 * (Set when the old log unmounts, read when the new one mounts, in the same render.)
 */
let focusCarried = false;

/** @param {{entries: Entry[]}} props */
function Log(props) {
  const entries = props.entries;
  const log = useRef(/** @type {HTMLDivElement | null} */ (null));
  useLayoutEffect(() => {
    const node = log.current;
    if (node && focusCarried) node.focus();
    focusCarried = false;
    return () => {
      focusCarried = !!node && node.contains(document.activeElement);
    };
  }, []);
  useLayoutEffect(() => {
    // Keep the newest entry in view.
    if (log.current) log.current.scrollTop = log.current.scrollHeight;
  }, [entries.length]);
  return html`<div id="transcript" class="transcript" role="log" aria-live="polite" aria-label="Transcript"
    tabindex="0" ref=${log}>
    ${entries.map((e) => html`<${EntryRow} key=${e.client_id || e.id} entry=${e} />`)}
  </div>`;
}

/** @param {{cid: string, conversation: Conversation}} props */
export function Transcript(props) {
  const c = props.conversation;
  return html`<${Log} key=${`${props.cid}:${c.history}`} entries=${c.entries} />`;
}
