// The left column: the queue of waiting chats, My chats and Closed by me. Each list is keyed by
// conversation, so when a frame changes it an item that stays keeps its element (and the
// keyboard focus of an agent about to claim it); only its texts change.
import { waitText } from "../common/format.js";
import { html, useEffect, useState } from "../common/view.js";
import { conversationOf, lastMessage } from "./state.js";
import { sentence, shortId } from "./words.js";

/**
 * @typedef {import("./state.js").ConsoleState} ConsoleState
 * @typedef {import("./state.js").QueueItem} QueueItem
 * @typedef {import("./state.js").TeamQueue} TeamQueue
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
 * The title of a chat in My chats and Closed by me: the handoff's reason, else its id.
 * @param {ConsoleState} state
 * @param {string} cid
 */
function chatTitle(state, cid) {
  const c = conversationOf(state, cid);
  return sentence((c.packet && c.packet.reason_text) || `Chat ${shortId(cid)}`);
}

/** @param {{state: ConsoleState, act: Actions}} props */
export function MineSection(props) {
  const state = props.state;
  const act = props.act;
  return html`<section class="list-section">
    <h2 class="section-title">My chats <span id="mine-count" class="count">${state.active.length}</span></h2>
    <ul id="mine-list" class="list" aria-label="My chats">
      ${state.active.map((cid) => {
        const c = conversationOf(state, cid);
        const selected = cid === state.selected;
        const last = lastMessage(c);
        return html`<li key=${cid} data-key=${cid}>
          <button type="button" class=${selected ? "mine-item selected" : "mine-item"}
            aria-current=${selected ? "true" : undefined} onClick=${() => act.select(cid)}>
            <span class="mine-title">${chatTitle(state, cid)}</span>
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
            <span class="mine-title">${chatTitle(state, cid)}</span>
            <span class="mine-last">Closed</span>
          </button>
        </li>`,
      )}
    </ul>
  </section>`;
}
