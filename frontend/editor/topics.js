// The Topics tab: the topic list with search on the left; on the right the open topic (its
// answer and phrasings) or the form for a new topic. The tool's refusals appear next to the
// field they are about (state.js, FIELD_OF).
import { valueOf } from "../common/forms.js";
import { html } from "../common/view.js";
import { answerCounter, matchingTopics, phrasingCounter } from "./state.js";

/**
 * @typedef {import("./state.js").EditorState} EditorState
 * @typedef {import("./state.js").Field} Field
 * @typedef {import("./state.js").AddDraft} AddDraft
 * @typedef {import("./controller.js").Actions} Actions
 */

/**
 * A field's error under it (role="alert"; the field is marked aria-invalid by its owner).
 * @param {{field: Field, errors: import("./state.js").FieldErrors}} props
 */
function FieldError(props) {
  const message = props.errors[props.field] || "";
  return html`<p id=${`${props.field}-error`} class="field-error" role="alert" hidden=${!message}>${message}</p>`;
}

/**
 * @param {{id: string, counter: {text: string, over: boolean}}} props
 */
function Counter(props) {
  return html`<span id=${props.id} class=${props.counter.over ? "counter over" : "counter"} aria-live="polite">
    ${props.counter.text}</span>`;
}

/** @param {{state: EditorState, act: Actions}} props */
export function TopicNav(props) {
  const state = props.state;
  const act = props.act;
  const shown = matchingTopics(state.topics, state.search);
  const openKey = state.sheet === "topic" && state.current ? state.current.key : null;
  return html`<aside class="col-left topic-nav" aria-label="Topics">
    <div class="topic-nav-head">
      <label for="topic-search" class="sr-only">Search topics</label>
      <input id="topic-search" type="search" class="search" placeholder="Search topics and answers" autocomplete="off"
        value=${state.search} onInput=${(/** @type {Event} */ e) => act.search(valueOf(e))} />
      <button type="button" id="new-topic" class="btn btn-primary" onClick=${() => act.newTopic()}>New topic</button>
    </div>
    <p id="topic-summary" class="muted small">
      ${state.search.trim() ? `${shown.length} of ${state.topics.length} topics` : `${state.topics.length} topics`}</p>
    <ul id="topic-list" class="list topic-list" aria-label="FAQ topics">
      ${shown.map((t) => {
        const selected = t.key === openKey;
        const issues = state.issuesByTopic[t.key];
        return html`<li key=${t.key}>
          <button type="button" class=${selected ? "topic-item selected" : "topic-item"} data-key=${t.key}
            aria-current=${selected ? "true" : undefined} onClick=${() => act.openTopic(t.key)}>
            <span class="topic-item-top">
              <span class="topic-key">${t.key}</span>
              <span class="count" title=${`${t.phrasings} phrasings`}>${t.phrasings}</span>
            </span>
            <span class="topic-preview">${t.answer || "No answer yet"}</span>
            ${issues ? html`<span class="topic-flag">${issues.length} to fix</span>` : null}
          </button>
        </li>`;
      })}
    </ul>
    <p id="topic-empty" class="empty" hidden=${shown.length > 0 || state.topics.length === 0}>No topic matches your search.</p>
  </aside>`;
}

/** @param {{state: EditorState, act: Actions}} props */
function TopicSheet(props) {
  const state = props.state;
  const act = props.act;
  const topic = state.current;
  const phrasings = topic ? topic.phrasings || [] : [];
  const changed = !!topic && state.answerDraft !== (topic.answer || "");
  return html`<article id="topic-view" class="sheet" hidden=${state.sheet !== "topic" || !topic} aria-labelledby="topic-title">
    <header class="sheet-head">
      <div>
        <h2 id="topic-title" class="sheet-title" tabindex="-1">${topic ? topic.key : ""}</h2>
        <p id="topic-sub" class="muted">${topic ? `Group: ${topic.group || "general"}` : ""}</p>
      </div>
      <button type="button" id="topic-remove" class="btn btn-danger-ghost" onClick=${() => act.removeTopic()}>Remove topic</button>
    </header>

    <section class="field-block" aria-labelledby="answer-label">
      <div class="field-head">
        <label id="answer-label" for="answer-edit" class="field-label">Answer</label>
        <${Counter} id="answer-edit-count" counter=${answerCounter(state.answerDraft)} />
      </div>
      <p class="hint" id="answer-edit-hint">What the assistant says. A change to the answer is live for the next customer within seconds; no publish needed.</p>
      <textarea id="answer-edit" rows="5" aria-describedby="answer-edit-hint answer-edit-error"
        aria-invalid=${state.errors["answer-edit"] ? "true" : "false"} value=${state.answerDraft}
        onInput=${(/** @type {Event} */ e) => act.answerDraft(valueOf(e))}></textarea>
      <${FieldError} field="answer-edit" errors=${state.errors} />
      <div class="row-actions">
        <button type="button" id="answer-save" class="btn btn-primary" disabled=${!changed || state.savingAnswer}
          onClick=${() => act.saveAnswer()}>Save answer</button>
        <button type="button" id="answer-reset" class="btn btn-ghost" disabled=${!changed}
          onClick=${() => act.resetAnswer()}>Undo changes</button>
      </div>
    </section>

    <section class="field-block" aria-labelledby="phrasings-label">
      <div class="field-head">
        <h3 id="phrasings-label" class="field-label">How customers ask <span id="phrasing-count" class="count">${phrasings.length}</span></h3>
      </div>
      <p class="hint">At least 5 different ways of asking. New phrasings take effect after the next publish.</p>
      <ul id="phrasing-list" class="phrasing-list" aria-labelledby="phrasings-label">
        ${phrasings.map(
          (text) => html`<li key=${text} class="phrasing">
            <span class="phrasing-text">${text}</span>
            <button type="button" class="icon-btn" aria-label=${`Remove phrasing: ${text}`} title="Remove this phrasing"
              onClick=${() => act.removePhrasing(text)}>×</button>
          </li>`,
        )}
      </ul>
      <form id="phrasing-form" class="inline-form" novalidate
        onSubmit=${(/** @type {Event} */ e) => {
          e.preventDefault();
          act.addPhrasing();
        }}>
        <label for="phrasing-new" class="sr-only">New phrasing</label>
        <input id="phrasing-new" placeholder="Another way a customer might ask this" aria-describedby="phrasing-error"
          maxlength="500" value=${state.phrasingDraft} onInput=${(/** @type {Event} */ e) => act.phrasingDraft(valueOf(e))} />
        <button type="submit" class="btn btn-ghost">Add phrasing</button>
      </form>
      <${FieldError} field="phrasing" errors=${state.errors} />
    </section>
  </article>`;
}

/** @param {{state: EditorState, act: Actions}} props */
function AddForm(props) {
  const state = props.state;
  const act = props.act;
  const add = state.add;
  const errors = state.errors;
  /**
   * @param {keyof AddDraft} field
   * @returns {(event: Event) => void}
   */
  const edit = (field) => (event) => act.addField(field, valueOf(event));
  /** @param {Field} field */
  const invalid = (field) => (errors[field] ? "true" : "false");
  const groups = [...new Set(state.topics.map((t) => t.group).filter(Boolean))];
  return html`<form id="add-form" class="sheet" hidden=${state.sheet !== "add"} novalidate aria-labelledby="add-title"
    onSubmit=${(/** @type {Event} */ e) => {
      e.preventDefault();
      act.submitAdd();
    }}>
    <header class="sheet-head">
      <div>
        <h2 id="add-title" class="sheet-title">New topic</h2>
        <p class="muted">The assistant learns it at the next publish.</p>
      </div>
    </header>
    <p id="add-source" class="source-note" hidden=${!state.source}>${state.source}</p>
    <div class="field-grid">
      <div class="field-block">
        <label for="add-key" class="field-label">Topic key</label>
        <p class="hint" id="add-key-hint">Lowercase letters, digits and _ (3–41 characters), e.g. <span class="mono">ship_to_canada</span>.</p>
        <input id="add-key" autocomplete="off" spellcheck="false" aria-describedby="add-key-hint add-key-error" maxlength="80"
          aria-invalid=${invalid("add-key")} value=${add.key} onInput=${edit("key")} />
        <${FieldError} field="add-key" errors=${errors} />
      </div>
      <div class="field-block">
        <label for="add-group" class="field-label">Group <span class="optional">(optional)</span></label>
        <p class="hint" id="add-group-hint">The file the topic is kept in, e.g. shipping.</p>
        <input id="add-group" list="group-options" autocomplete="off" aria-describedby="add-group-hint add-group-error"
          maxlength="80" aria-invalid=${invalid("add-group")} value=${add.group} onInput=${edit("group")} />
        <datalist id="group-options">${groups.map((g) => html`<option key=${g} value=${g}></option>`)}</datalist>
        <${FieldError} field="add-group" errors=${errors} />
      </div>
    </div>
    <div class="field-block">
      <div class="field-head">
        <label for="add-phrasings" class="field-label">How customers ask</label>
        <${Counter} id="add-phrasings-count" counter=${phrasingCounter(add.phrasings)} />
      </div>
      <p class="hint" id="add-phrasings-hint">One per line, at least 5. Vary the words: customers rarely ask the same way twice.</p>
      <textarea id="add-phrasings" rows="7" aria-describedby="add-phrasings-hint add-phrasings-error"
        aria-invalid=${invalid("add-phrasings")} value=${add.phrasings} onInput=${edit("phrasings")}></textarea>
      <${FieldError} field="add-phrasings" errors=${errors} />
    </div>
    <div class="field-block">
      <div class="field-head">
        <label for="add-answer" class="field-label">Answer</label>
        <${Counter} id="add-answer-count" counter=${answerCounter(add.answer)} />
      </div>
      <p class="hint" id="add-answer-hint">Short and friendly; it is shown in the chat window.</p>
      <textarea id="add-answer" rows="5" aria-describedby="add-answer-hint add-answer-error"
        aria-invalid=${invalid("add-answer")} value=${add.answer} onInput=${edit("answer")}></textarea>
      <${FieldError} field="add-answer" errors=${errors} />
    </div>
    <p id="add-error" class="form-error" role="alert" hidden=${!state.addError}>${state.addError}</p>
    <div class="row-actions">
      <button type="submit" class="btn btn-primary" disabled=${state.adding}>${state.adding ? "Adding…" : "Add topic"}</button>
      <button type="button" id="add-cancel" class="btn btn-ghost" onClick=${() => act.cancelAdd()}>Cancel</button>
    </div>
  </form>`;
}

/** @param {{state: EditorState, act: Actions}} props */
export function TopicMain(props) {
  const state = props.state;
  return html`<section class="col-main editor-main" aria-label="Topic">
    <div id="topic-none" class="chat-empty" hidden=${state.sheet !== "none"}>
      <p class="chat-empty-title">Pick a topic</p>
      <p>Choose a topic on the left to see how customers ask it and what the assistant answers,<br />or add a new one.</p>
    </div>
    <${TopicSheet} state=${state} act=${props.act} />
    <${AddForm} state=${state} act=${props.act} />
  </section>`;
}
