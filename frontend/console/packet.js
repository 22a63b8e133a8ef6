// The right column: why the chat was handed off (the handoff packet: reason and priority,
// summary, what the customer asked the assistant and how it fared, intents with confidence, the
// details collected and found in the messages, the mood and sentiment trend) and, once it is
// closed, the agent's wrap-up notes and tags.
import { clockTime } from "../common/format.js";
import { html } from "../common/view.js";
import { sentence } from "./words.js";

/**
 * @typedef {import("./state.js").Conversation} Conversation
 */

/**
 * @param {unknown} x
 * @returns {number} between 0 and 1
 */
function share(x) {
  return Math.max(0, Math.min(1, Number(x) || 0));
}

/**
 * @param {{title: string, extraClass?: string, level?: number, children?: import("preact").ComponentChildren}} props
 *   level: the heading's (3 in the packet column; deeper where the packet is part of a page)
 */
function Section(props) {
  const heading = `h${props.level || 3}`;
  return html`<section class=${props.extraClass ? `packet-section ${props.extraClass}` : "packet-section"}>
    <${heading}>${props.title}<//>
    ${props.children}
  </section>`;
}

/**
 * A closed chat's notes and tags (kept in its fields; tags as a JSON list).
 * @param {Record<string, any> | null} fields
 * @returns {{notes: string, tags: string[]} | null}
 */
export function wrapUpOf(fields) {
  if (!fields || (!fields.notes && !fields.tags)) return null;
  /** @type {unknown} */
  let tags = [];
  try {
    tags = JSON.parse(fields.tags || "[]");
  } catch {
    tags = [];
  }
  const list = Array.isArray(tags) ? tags.map(String) : [];
  if (!fields.notes && !list.length) return null;
  return { notes: String(fields.notes || ""), tags: list };
}

/**
 * The topics the customer raised with the assistant, as the packet lists them (older packets
 * have none).
 * @param {Record<string, any>} p
 * @returns {{topic: string, outcome: string, times: number}[]}
 */
export function askedOf(p) {
  const asked = Array.isArray(p.asked) ? p.asked : [];
  return asked
    .filter((/** @type {any} */ a) => a && typeof a.topic === "string" && typeof a.outcome === "string")
    .map((/** @type {any} */ a) => ({ topic: a.topic, outcome: a.outcome, times: Number(a.times) || 1 }));
}

/**
 * What Rasa found in the customer's messages (order numbers…) that the slots do not already say.
 * @param {Record<string, any>} p
 * @param {Record<string, any>} slots
 * @returns {{name: string, value: string}[]}
 */
export function entitiesOf(p, slots) {
  const entities = Array.isArray(p.entities) ? p.entities : [];
  /** @type {Record<string, true>} */
  const seen = {};
  for (const k of Object.keys(slots)) seen[`${k}=${String(slots[k])}`] = true;
  /** @type {{name: string, value: string}[]} */
  const found = [];
  for (const e of entities) {
    if (!e || typeof e.entity !== "string" || e.value == null) continue;
    const key = `${e.entity}=${String(e.value)}`;
    if (seen[key]) continue;
    seen[key] = true;
    found.push({ name: e.entity.replace(/_/g, " "), value: String(e.value) });
  }
  return found;
}

/**
 * A handoff packet's details; the History tab shows an archived chat's packet with it too.
 * @param {{packet: Record<string, any>, level?: number}} props level: its sections' headings
 */
export function PacketDetails(props) {
  const p = props.packet;
  const level = props.level || 3;
  const intents = Array.isArray(p.intents) ? p.intents : [];
  const slots = p.slots && typeof p.slots === "object" ? p.slots : {};
  const keys = Object.keys(slots).filter((k) => slots[k] !== null && slots[k] !== "");
  const entities = entitiesOf(p, slots);
  const asked = askedOf(p);
  const trend = Array.isArray(p.sentiment) ? p.sentiment : [];
  return html`
    <div class="packet-reason">
      <span class=${`prio prio-${Math.min(Number(p.priority) || 0, 3)}`}>P${p.priority != null ? p.priority : "?"}</span>
      <strong>${sentence(p.reason_text || p.reason || "Handoff")}</strong>
    </div>
    <${Section} title="Summary" level=${level}><p class="packet-summary">${p.summary || "—"}</p><//>
    ${asked.length
      ? html`<${Section} title="Asked the assistant" level=${level}>
          <ul class="asked">
            ${asked.map((a) => html`<li key=${a.topic}>
              <span class="asked-topic">${a.topic}</span>
              <span class=${`asked-outcome ${a.outcome === "answered" ? "ok" : "miss"}`}>${a.times > 1 ? `${a.outcome}, ${a.times} times` : a.outcome}</span>
            </li>`)}
          </ul>
        <//>`
      : null}
    <${Section} title="Intents" level=${level}>
      ${intents.length ? null : html`<p class="muted">None detected</p>`}
      ${intents.map((i) => {
        const percent = `${Math.round(share(i && i.confidence) * 100)}%`;
        return html`<div class="meter">
          <span class="meter-label">${i && i.name}</span>
          <span class="meter-bar"><span class="meter-fill" style=${{ width: percent }}></span></span>
          <span class="meter-value">${percent}</span>
        </div>`;
      })}
    <//>
    <${Section} title="Details" level=${level}>
      ${keys.length || entities.length
        ? html`<dl class="slots">
            ${keys.map((k) => {
              const v = slots[k];
              return [
                html`<dt>${k.replace(/_/g, " ")}</dt>`,
                html`<dd>${typeof v === "boolean" ? (v ? "yes" : "no") : typeof v === "object" ? JSON.stringify(v) : String(v)}</dd>`,
              ];
            })}
            ${entities.map((e) => [html`<dt>${e.name}</dt>`, html`<dd>${e.value}</dd>`])}
          </dl>`
        : html`<p class="muted">No details collected</p>`}
    <//>
    <${Section} title="Sentiment trend" level=${level}>
      ${p.mood ? html`<p class="packet-mood">Mood: ${p.mood}</p>` : null}
      ${trend.length
        ? html`<div class="spark" role="img" aria-label=${`Upset score per message: ${trend
            .map((/** @type {any} */ t) => `${Math.round(((t && t.upset) || 0) * 100)}%`)
            .join(", ")}`}>
            ${trend.map((/** @type {any} */ t) => {
              const upset = share(t && t.upset);
              const tone = upset > 0.66 ? "hot" : upset > 0.33 ? "warm" : "calm";
              return html`<span class=${`spark-bar ${tone}`} style=${{ height: `${Math.max(6, Math.round(upset * 100))}%` }}></span>`;
            })}
          </div>`
        : html`<p class="muted">No sentiment data</p>`}
    <//>
    ${p.escalated_at
      ? html`<p class="muted small">Handed off at ${clockTime(p.escalated_at)}${p.source ? ` by ${p.source}` : ""}</p>`
      : null}
  `;
}

/** @param {{conversation: Conversation | null}} props */
export function Packet(props) {
  const c = props.conversation;
  const p = c && c.packet;
  const wrap = c ? wrapUpOf(c.fields) : null;
  return html`<div id="packet" class="packet">
    ${p && Object.keys(p).length
      ? html`<${PacketDetails} packet=${p} />`
      : html`<p class="empty">
          ${c ? "No handoff packet for this chat." : "Select a conversation to see why it was handed off."}
        </p>`}
    ${wrap
      ? html`<${Section} title="Wrap-up" extraClass="wrap-up">
          ${wrap.notes ? html`<p class="wrap-notes">${wrap.notes}</p>` : null}
          ${wrap.tags.length
            ? html`<div class="tag-row">${wrap.tags.map((t) => html`<span class="tag">${t}</span>`)}</div>`
            : null}
        <//>`
      : null}
  </div>`;
}
