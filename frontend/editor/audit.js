// The Audit log tab (admins): every change to the FAQ, who made it and when, newest first.
import { valueOf } from "../common/forms.js";
import { html } from "../common/view.js";
import { describe, when } from "./words.js";

/**
 * @typedef {import("./state.js").AuditEntry} AuditEntry
 * @typedef {import("./controller.js").Actions} Actions
 */

/**
 * A key for each entry that stays with it when newer entries are added on top: its time, person,
 * action and topic, numbered from the oldest when two entries share them.
 * @param {AuditEntry[]} entries newest first
 * @returns {string[]}
 */
export function auditKeys(entries) {
  /** @type {Map<string, number>} */
  const seen = new Map();
  const keys = new Array(entries.length);
  for (let i = entries.length - 1; i >= 0; i -= 1) {
    const e = entries[i];
    const base = [e.at, e.actor, e.action, e.topic].join("|");
    const n = seen.get(base) || 0;
    seen.set(base, n + 1);
    keys[i] = `${base}|${n}`;
  }
  return keys;
}

/**
 * The entries whose person, action or topic contains the filter.
 * @param {AuditEntry[]} entries
 * @param {string} filter
 */
export function filterAudit(entries, filter) {
  const query = filter.trim().toLowerCase();
  if (!query) return entries;
  return entries.filter((e) => [e.actor, e.action, e.topic].join(" ").toLowerCase().includes(query));
}

/** @param {{entries: AuditEntry[] | null, filter: string, act: Actions}} props */
export function Audit(props) {
  const entries = props.entries || [];
  const keys = new Map(auditKeys(entries).map((key, i) => [entries[i], key]));
  const shown = filterAudit(entries, props.filter);
  const loaded = props.entries !== null;
  return html`
    <div class="page-head">
      <div>
        <h2>Audit log</h2>
        <p class="muted">Every change to the FAQ, who made it and when, newest first.</p>
      </div>
      <div class="inline">
        <label for="audit-filter">Filter</label>
        <input id="audit-filter" type="search" class="search" placeholder="Person, action or topic" value=${props.filter}
          onInput=${(/** @type {Event} */ e) => props.act.auditFilter(valueOf(e))} />
        <button type="button" id="audit-refresh" class="btn btn-ghost" onClick=${() => props.act.loadAudit()}>Refresh</button>
      </div>
    </div>
    <table class="table" id="audit-table" hidden=${loaded && shown.length === 0}>
      <caption class="sr-only">FAQ changes, newest first</caption>
      <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Topic</th><th scope="col">Details</th></tr></thead>
      <tbody id="audit-body">
        ${shown.map(
          (entry) => html`<tr key=${keys.get(entry)}>
            <td class="nowrap">${when(entry.at)}</td>
            <td>${entry.actor}</td>
            <td>${entry.action}</td>
            <td class="mono">${entry.topic || "—"}</td>
            <td class="audit-details">${describe(entry.details)}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <p id="audit-empty" class="empty" hidden=${!loaded || shown.length > 0}>No changes recorded yet.</p>
  `;
}
