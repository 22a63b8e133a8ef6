// The Unanswered tab: customer messages the assistant could not place, grouped by similarity.
// A group becomes a phrasing of a topic, the start of a new topic, or is dismissed.
import { html, useRef } from "../common/view.js";
import { when } from "./words.js";

/**
 * @typedef {import("./state.js").EditorState} EditorState
 * @typedef {import("./state.js").Group} Group
 * @typedef {import("./state.js").TopicSummary} TopicSummary
 * @typedef {import("./controller.js").Actions} Actions
 */

/**
 * @param {string} kind
 * @param {number} count
 */
function kindText(kind, count) {
  return `${count} ${kind === "fallback" ? "asked to rephrase" : "escalated"}`;
}

/** @param {{group: Group, index: number, topics: TopicSummary[], act: Actions}} props */
function GroupCard(props) {
  const group = props.group;
  const act = props.act;
  const topic = useRef(/** @type {HTMLSelectElement | null} */ (null));
  const titleId = `group-title-${props.index}`;
  const selectId = `group-topic-${props.index}`;
  const kinds = group.kinds || {};
  const examples = group.examples || [];

  function addTo() {
    const select = topic.current;
    if (select && !act.addToTopic(group, select.value)) select.focus();
  }

  return html`<li class="group-card" aria-labelledby=${titleId}>
    <div class="group-head">
      <span class="group-count" aria-label=${`${group.count} ${group.count === 1 ? "message" : "messages"}`}>${group.count}</span>
      <p class="group-text" id=${titleId}>${group.text}</p>
      <span class="group-meta">last ${when(group.last_at)}</span>
    </div>
    <p class="group-kinds">
      ${Object.keys(kinds).map((kind) => html`<span key=${kind} class=${`kind kind-${kind}`}>${kindText(kind, kinds[kind])}</span>`)}
    </p>
    ${examples.length > 1
      ? html`<details class="group-examples">
          <summary>Examples (${examples.length}${group.count > examples.length ? ` of ${group.count}` : ""})</summary>
          <ul>
            ${examples.map(
              (example, i) => html`<li key=${i}><span>${example.text}</span><span class="muted small"> · ${when(example.at)}</span></li>`,
            )}
          </ul>
        </details>`
      : null}
    <div class="group-actions">
      <label class="sr-only" for=${selectId}>Topic to add this question to</label>
      <select id=${selectId} ref=${topic}>
        <option value="">Add as a phrasing of…</option>
        ${props.topics.map((t) => html`<option key=${t.key} value=${t.key}>${t.key}</option>`)}
      </select>
      <button type="button" class="btn btn-ghost btn-sm" aria-label=${`Add “${group.text}” as a phrasing of the chosen topic`}
        onClick=${addTo}>Add</button>
      <span class="or">or</span>
      <button type="button" class="btn btn-primary btn-sm" onClick=${() => act.newTopicFromGroup(group)}>New topic from this</button>
      <button type="button" class="btn btn-danger-ghost btn-sm" aria-label=${`Dismiss “${group.text}”`}
        onClick=${() => act.dismiss(group)}>Dismiss</button>
    </div>
  </li>`;
}

/** @param {{state: EditorState, act: Actions}} props */
export function Unanswered(props) {
  const state = props.state;
  const act = props.act;
  return html`
    <div class="page-head">
      <div>
        <h2>Unanswered questions</h2>
        <p class="muted">Customer messages the assistant asked to rephrase, or that were escalated, grouped by similarity. Personal details are masked.</p>
      </div>
      <button type="button" id="unanswered-refresh" class="btn btn-ghost" onClick=${() => act.loadUnanswered()}>Refresh</button>
    </div>
    <ul id="group-list" class="group-list" aria-label="Groups of unanswered questions">
      ${state.groups.map(
        (group, index) => html`<${GroupCard} key=${group.id || group.text} group=${group} index=${index} topics=${state.topics} act=${act} />`,
      )}
    </ul>
    <p id="group-empty" class="empty" hidden=${state.groups.length > 0}>Nothing unanswered. The assistant understood every recent question.</p>
  `;
}
