// The left column: the queue of waiting chats, My chats and Closed by me. Each list is keyed by
// conversation, so when a frame changes it an item that stays keeps its element (and the
// keyboard focus of an agent about to claim it); only its texts change.
//
// Response-time targets: a waiting chat shows the time left to its first response (its
// `target_seconds` less its wait), one of My chats the time left to the reply its customer waits
// for (the `mine` frame's `due`), both counting down locally from the frame's arrival like the
// wait does, in words and colour: "2:10 left", "Overdue 0:45".
import { waitText } from "../common/format.js";
import { html, useEffect, useState } from "../common/view.js";
import { conversationOf, lastMessage } from "./state.js";
import { sentence, shortId } from "./words.js";

/**
 * @typedef {import("./state.js").ConsoleState} ConsoleState
 * @typedef {import("./state.js").QueueItem} QueueItem
 * @typedef {import("./state.js").TeamQueue} TeamQueue
 * @typedef {import("./state.js").MyChat} MyChat
 * @typedef {"ok" | "soon" | "over"} DueTone
 * @typedef {import("./controller.js").Actions} Actions
 * @typedef {{team: string, item: QueueItem, at: number}} Waiting
 */

/**
 * Every waiting chat in the order shown: team by team as their first frames arrived, each team's
 * chats in the server's order (the one to serve first first).
 * @param {Record<string, TeamQueue>} queues
 * @returns {Waiting[]}
 */
export function queueItems(queues) {
  /** @type {Waiting[]} */
  const all = [];
  for (const team of Object.keys(queues)) {
    for (const item of queues[team].items) all.push({ team, item, at: queues[team].at });
  }
  return all;
}

/**
 * How many different chats are waiting (an admin sees a chat once even if listed twice).
 * @param {Record<string, TeamQueue>} queues
 */
export function waitingCount(queues) {
  return new Set(queueItems(queues).map((w) => w.item.conversation)).size;
}

/**
 * The chats waiting now that the agent has not been told about yet; none before the first queue
 * frame (`seen` null), so a fresh console does not alert about the whole queue.
 * @param {Record<string, true> | null} seen
 * @param {Record<string, TeamQueue>} queues
 * @returns {QueueItem[]}
 */
export function freshArrivals(seen, queues) {
  if (!seen) return [];
  /** @type {Record<string, true>} */
  const told = { ...seen };
  /** @type {QueueItem[]} */
  const fresh = [];
  for (const waiting of queueItems(queues)) {
    const item = waiting.item;
    if (told[item.conversation]) continue;
    told[item.conversation] = true;
    fresh.push(item);
  }
  return fresh;
}

/**
 * How long a chat has waited by `now`: the server's count when its frame arrived, plus the time
 * since.
 * @param {QueueItem} item
 * @param {number} at when the frame arrived (ms)
 * @param {number} now (ms)
 */
export function waitedFor(item, at, now) {
  return waitText((Number(item.waiting_seconds) || 0) + Math.max(0, now - at) / 1000);
}

/**
 * Seconds left to a target by `now` (negative once overdue): the server's figure when its frame
 * arrived (`at`), less the time since; null when no reply is owed.
 * @param {number | null | undefined} left seconds left when the frame was made
 * @param {number} at when the frame arrived (ms)
 * @param {number} now (ms)
 * @returns {number | null}
 */
export function secondsLeft(left, at, now) {
  if (left == null || !Number.isFinite(Number(left))) return null;
  return Number(left) - Math.max(0, now - at) / 1000;
}

/**
 * A waiting chat's time left to its first response.
 * @param {QueueItem} item
 * @param {number} at
 * @param {number} now
 */
export function queueLeft(item, at, now) {
  if (!item.target_seconds) return null;
  return secondsLeft(Number(item.target_seconds) - (Number(item.waiting_seconds) || 0), at, now);
}

/**
 * One of my chats' time left to the reply its customer waits for (null: nothing owed).
 * @param {MyChat | undefined} chat
 * @param {number} now
 */
export function mineLeft(chat, now) {
  return chat && chat.due ? secondsLeft(chat.due.left_seconds, chat.at, now) : null;
}

/**
 * "2:10" (or "1:02:10"): whole seconds, rounded towards overdue.
 * @param {number} seconds
 */
function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const mm = String(Math.floor(s / 60) % 60);
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/**
 * What the time left says: "2:10 left", or "Overdue 0:45" once the target has passed.
 * @param {number} left seconds (negative: overdue)
 */
export function timeLeftText(left) {
  return left > 0 ? `${clock(Math.ceil(left))} left` : `Overdue ${clock(-left)}`;
}

/**
 * Whether a target has passed (the breach the server reports once with a `breach` frame).
 * @param {number | null} left
 */
export function isOverdue(left) {
  return left !== null && left <= 0;
}

/**
 * The colour the time left is shown in, beside its words: overdue, soon (the last quarter of
 * the target, and at least the last 10 s), or fine.
 * @param {number} left
 * @param {number} target seconds
 * @returns {DueTone}
 */
export function dueTone(left, target) {
  if (isOverdue(left)) return "over";
  return left <= Math.max(10, target / 4) ? "soon" : "ok";
}

/**
 * What the console calls a chat: the server's title (the customer's verified name, else
 * "Visitor" and a stable label) from My chats, the loaded chat or the queue, else its id.
 * @param {ConsoleState} state
 * @param {string} cid
 */
export function titleOf(state, cid) {
  const mine = state.mine[cid];
  if (mine && mine.title) return mine.title;
  const c = conversationOf(state, cid);
  if (c.title) return c.title;
  const waiting = queueItems(state.queues).find((w) => w.item.conversation === cid);
  return (waiting && waiting.item.title) || `Chat ${shortId(cid)}`;
}

/** @param {{left: number | null, target: number, label: string}} props */
function TimeLeft(props) {
  if (props.left === null) return null;
  const tone = dueTone(props.left, props.target);
  return html`<span class=${`due due-${tone}`} data-tone=${tone}><span class="sr-only">${props.label}: </span>${timeLeftText(props.left)}</span>`;
}

/**
 * @param {Record<string, any>} f a claim_failed frame
 * @returns {string}
 */
export function claimFailedText(f) {
  if (f.reason === "taken") {
    return f.winner ? `Claimed by ${f.winner}.` : "Someone else claimed it first.";
  }
  /** @type {Record<string, string>} */
  const why = {
    capacity: "You're at capacity; close a chat first.",
    not_found: "That chat no longer exists.",
    other_team: "That chat belongs to another team.",
  };
  return (
    why[f.reason] || `Couldn't claim this chat (${String(f.reason || "").replace("not_queued:", "now ")}).`
  );
}

/** Re-render every `ms` (the waits tick); the time itself is read when rendering. */
function useTicking(/** @type {number} */ ms) {
  const setTick = useState(0)[1];
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), ms);
    return () => clearInterval(timer);
  }, [ms]);
}

/** @param {{state: ConsoleState, act: Actions}} props */
export function QueueSection(props) {
  const state = props.state;
  const act = props.act;
  useTicking(1000);
  const now = Date.now();
  const all = queueItems(state.queues);
  const online = state.presence === "online";
  return html`<section class="list-section">
    <h2 class="section-title">Queue <span id="queue-count" class="count">${all.length}</span></h2>
    <ul id="queue-list" class="list" aria-label="Waiting chats">
      ${all.map((waiting) => {
        const item = waiting.item;
        const at = waiting.at;
        const cid = item.conversation;
        return html`<li key=${cid} data-key=${cid} class="card queue-item" data-conversation=${cid}>
          <div class="card-top">
            <span class=${`prio prio-${Math.min(Number(item.priority) || 0, 3)}`}>P${item.priority}</span>
            <span class="card-reason">${sentence(item.reason_text || item.reason || "Waiting")}</span>
            <span class="wait" data-wait=${String(item.waiting_seconds)} data-at=${String(at)}>
              ${waitedFor(item, at, now)}</span>
          </div>
          <div class="card-title-row">
            <span class="card-title">${item.title || `Chat ${shortId(cid)}`}</span>
            <${TimeLeft} left=${queueLeft(item, at, now)} target=${Number(item.target_seconds) || 0}
              label="First response" />
          </div>
          <p class="card-summary">${String(item.summary || "").split("\n")[0] || "No summary"}</p>
          <div class="card-foot">
            <span class="team">${waiting.team}</span>
            <button type="button" class="btn btn-ghost btn-sm" aria-label=${`Preview chat ${shortId(cid)}`}
              onClick=${() => act.select(cid)}>Preview</button>
            <button type="button" class="btn btn-primary btn-sm queue-claim"
              aria-label=${`Claim chat: ${item.reason_text || shortId(cid)}`} disabled=${!online}
              title=${online ? undefined : "Go online to claim chats"}
              onClick=${() => act.claim(cid)}>Claim</button>
          </div>
        </li>`;
      })}
    </ul>
    <p id="queue-empty" class="empty" hidden=${all.length > 0}>No one is waiting.</p>
  </section>`;
}

/**
 * The reason a chat in My chats and Closed by me came to a person, if known.
 * @param {ConsoleState} state
 * @param {string} cid
 */
function chatReason(state, cid) {
  const c = conversationOf(state, cid);
  return c.packet && c.packet.reason_text ? sentence(c.packet.reason_text) : "";
}

/** @param {{state: ConsoleState, act: Actions}} props */
export function MineSection(props) {
  const state = props.state;
  const act = props.act;
  useTicking(1000);
  const now = Date.now();
  return html`<section class="list-section">
    <h2 class="section-title">My chats <span id="mine-count" class="count">${state.active.length}</span></h2>
    <ul id="mine-list" class="list" aria-label="My chats">
      ${state.active.map((cid) => {
        const c = conversationOf(state, cid);
        const selected = cid === state.selected;
        const last = lastMessage(c);
        const chat = state.mine[cid];
        const reason = chatReason(state, cid);
        return html`<li key=${cid} data-key=${cid} data-conversation=${cid}>
          <button type="button" class=${selected ? "mine-item selected" : "mine-item"}
            aria-current=${selected ? "true" : undefined} onClick=${() => act.select(cid)}>
            <span class="mine-title">${titleOf(state, cid)}</span>
            <span class="mine-meta">${reason}
              <${TimeLeft} left=${mineLeft(chat, now)} target=${chat && chat.due ? Number(chat.due.target_seconds) : 0}
                label=${chat && chat.due && chat.due.kind === "first" ? "First response" : "Reply"} /></span>
            <span class="mine-last">${last ? last.text : "…"}</span>
            <span class="unread" hidden=${!c.unread}>${c.unread ? String(c.unread) : ""}</span>
          </button>
        </li>`;
      })}
    </ul>
    <p id="mine-empty" class="empty" hidden=${state.active.length > 0}>No active chats.</p>
  </section>`;
}

/** @param {{state: ConsoleState, act: Actions}} props */
export function RecentSection(props) {
  const state = props.state;
  const act = props.act;
  return html`<section class="list-section" id="recent-section" hidden=${!state.recent.length}>
    <h2 class="section-title">Closed by me</h2>
    <ul id="recent-list" class="list" aria-label="Chats I closed">
      ${state.recent.map(
        (cid) => html`<li key=${cid} data-key=${cid}>
          <button type="button" class=${cid === state.selected ? "mine-item selected" : "mine-item"}
            onClick=${() => act.openClosed(cid)}>
            <span class="mine-title">${titleOf(state, cid)}</span>
            <span class="mine-last">Closed</span>
          </button>
        </li>`,
      )}
    </ul>
  </section>`;
}
