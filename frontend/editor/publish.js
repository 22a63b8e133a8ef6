// The Publish tab: validate the topics, publish (train, check, go live) with a progress bar, the
// result, and the publish history with a one-click rollback of the live model.
import { html } from "../common/view.js";
import { STEPS, STEP_NAMES, stepStates } from "./state.js";
import { when } from "./words.js";

/**
 * @typedef {import("./state.js").EditorState} EditorState
 * @typedef {import("./state.js").HistoryEntry} HistoryEntry
 * @typedef {import("./controller.js").Actions} Actions
 */

const STEP_LABELS = ["Validate", "Train", "Check", "Go live"];

/** @param {{state: EditorState, act: Actions}} props */
function ValidateCard(props) {
  const validation = props.state.validation;
  const known = new Set(props.state.topics.map((t) => t.key));
  return html`<section class="panel-card" aria-labelledby="validate-title">
    <h3 id="validate-title" class="card-title">Check the topics</h3>
    <p class="muted">Finds bad keys, topics with too few phrasings, the same phrasing in two topics, phrasings the assistant already takes for another topic, empty or long answers, and problems Rasa reports.</p>
    <button type="button" id="validate" class="btn btn-ghost" disabled=${validation.running}
      onClick=${() => props.act.validate()}>Validate</button>
    <p id="validate-status" class="muted small" role="status">${validation.status}</p>
    <ul id="validate-list" class="issue-list" aria-label="Validation messages">
      ${validation.items.map(
        (issue, i) => html`<li key=${i} class=${issue.warning ? "issue issue-warn" : "issue"}>
          <span class="issue-code">${(issue.code || "note").replace(/_/g, " ")}</span>
          <span class="issue-text">${issue.message || ""}</span>
          ${issue.topic && known.has(issue.topic)
            ? html`<button type="button" class="btn btn-ghost btn-sm"
                onClick=${() => props.act.openIssue(/** @type {string} */ (issue.topic))}>Open ${issue.topic}</button>`
            : null}
        </li>`,
      )}
    </ul>
  </section>`;
}

/** @param {{state: EditorState, act: Actions}} props */
function PublishCard(props) {
  const state = props.state;
  const progress = state.progress;
  const classes = stepStates(progress);
  const result = state.result;
  return html`<section class="panel-card" aria-labelledby="publish-title">
    <h3 id="publish-title" class="card-title">Make the changes live</h3>
    <p class="muted">Publishing trains a new model (a minute or so), checks it against the test conversations and held-out questions, and only then swaps it in.</p>
    <button type="button" id="publish" class="btn btn-primary" disabled=${!!state.publishing}
      onClick=${() => props.act.publish()}>Publish</button>
    <div id="progress" class="progress" hidden=${!progress.shown}>
      <div class="progress-head">
        <span id="progress-step" class="progress-step">${progress.step ? STEP_NAMES[progress.step] || progress.step : ""}</span>
        <span id="progress-percent" class="progress-percent">${progress.percent} %</span>
      </div>
      <div class="progress-track" id="progress-bar" role="progressbar" aria-label="Publish progress" aria-valuemin="0"
        aria-valuemax="100" aria-valuenow=${String(progress.percent)}>
        <span id="progress-fill" class="progress-fill" style=${{ width: `${progress.percent}%` }}></span>
      </div>
      <ol class="steps" aria-label="Publish steps">
        ${STEPS.map((step, i) => html`<li key=${step} data-step=${step} class=${classes[i]}>${STEP_LABELS[i]}</li>`)}
      </ol>
      <p id="progress-message" class="muted small" aria-live="polite">${progress.message}</p>
    </div>
    <div id="publish-result" class=${result ? `result ${result.ok ? "result-ok" : "result-bad"}` : "result"} role="alert"
      hidden=${!result}>
      ${result
        ? [
            html`<p class="result-title">${result.title}</p>`,
            result.lines.map((line) => html`<p>${line}</p>`),
            result.worse.length
              ? [
                  html`<p>Topics that got worse with the new model:</p>`,
                  html`<ul class="worse">${result.worse.map((w) => html`<li>${w.topic}: ${String(w.before)} → ${String(w.after)}</li>`)}</ul>`,
                ]
              : null,
          ]
        : null}
    </div>
  </section>`;
}

/**
 * @param {HistoryEntry} entry
 */
function historyDetails(entry) {
  /** @type {string[]} */
  const details = [];
  if (entry.seconds) details.push(`${Math.round(entry.seconds)} s`);
  if (entry.heldout_accuracy !== undefined) details.push(`held-out ${entry.heldout_accuracy} %`);
  if (entry.previous_model) details.push(`before: ${entry.previous_model}`);
  return details.join(" · ");
}

/** @param {{state: EditorState, act: Actions}} props */
function History(props) {
  const entries = props.state.history || [];
  const loaded = props.state.history !== null;
  return html`<section class="history" aria-labelledby="history-title">
    <div class="page-head">
      <h3 id="history-title" class="card-title">Publish history</h3>
      <button type="button" id="history-refresh" class="btn btn-ghost btn-sm" onClick=${() => props.act.loadHistory()}>Refresh</button>
    </div>
    <table class="table" id="history-table" hidden=${loaded && entries.length === 0}>
      <caption class="sr-only">Models published and rolled back, newest first</caption>
      <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Who</th><th scope="col">Model</th><th scope="col">Details</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody id="history-body">
        ${entries.map(
          (entry, index) => html`<tr key=${`${entry.at}:${entry.model}:${entry.action}`}>
            <td class="nowrap">${when(entry.at)}</td>
            <td>
              <span class=${entry.action === "rollback" ? "status status-warn" : "status"}>${entry.action}</span>
              ${index === 0 ? html`<span class="status status-live">live</span>` : null}
            </td>
            <td>${entry.actor}</td>
            <td class="mono">${entry.model}</td>
            <td class="muted small">${historyDetails(entry)}</td>
            <td>
              ${index === 0 && entry.action === "publish" && entry.previous_model
                ? html`<button type="button" class="btn btn-danger-ghost btn-sm rollback-btn"
                    aria-label=${`Roll back to ${entry.previous_model}`} disabled=${!!props.state.publishing}
                    onClick=${() => props.act.rollback(entry)}>Roll back</button>`
                : null}
            </td>
          </tr>`,
        )}
      </tbody>
    </table>
    <p id="history-empty" class="empty" hidden=${!loaded || entries.length > 0}>Nothing published from the editor yet.</p>
  </section>`;
}

/** @param {{state: EditorState, act: Actions}} props */
export function Publish(props) {
  return html`
    <div class="page-head">
      <div>
        <h2>Publish</h2>
        <p class="muted">Validate the topics, then train and check a new assistant and make it live. Conversations carry on while it is swapped in.</p>
      </div>
    </div>
    <div class="publish-grid">
      <${ValidateCard} state=${props.state} act=${props.act} />
      <${PublishCard} state=${props.state} act=${props.act} />
    </div>
    <${History} state=${props.state} act=${props.act} />
  `;
}
