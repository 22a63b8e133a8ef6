// The FAQ editor's one state object and its pure reducer, with the rules the page applies to
// what the FAQ tool answers: which field a refusal is about (FIELD_OF), the counters, and the
// publish job's progress. Tested in Node (state.test.js); side effects are controller.js's.
import { NO_TOAST, toastReducer } from "../common/toast.js";

/**
 * @typedef {import("../common/session.js").Profile} Profile
 * @typedef {import("../common/toast.js").ToastState} ToastState
 * @typedef {import("../common/toast.js").ToastAction} ToastAction
 */

/** bot/faq/validation.py MAX_ANSWER_CHARS */
export const MAX_ANSWER = 1000;
/** bot/faq/validation.py MIN_PHRASINGS */
export const MIN_PHRASINGS = 5;

/**
 * Which field an error of the FAQ tool is about, by its code.
 * @type {Record<string, "key" | "phrasings" | "answer" | "group">}
 */
export const FIELD_OF = {
  key_format: "key",
  topic_exists: "key",
  unknown_topic: "key",
  too_few_phrasings: "phrasings",
  duplicate_phrasing: "phrasings",
  likely_conflict: "phrasings",
  empty_answer: "answer",
  answer_too_long: "answer",
  group_format: "group",
};

/** The steps of a publish, in order, as the tool reports them. */
export const STEPS = ["validate", "train", "check", "swap"];
/** @type {Record<string, string>} */
export const STEP_NAMES = { validate: "Validating", train: "Training", check: "Checking", swap: "Going live" };

/**
 * @typedef {{key: string, group?: string | null, phrasings: number, answer?: string}} TopicSummary
 * @typedef {{key: string, group?: string | null, phrasings: string[], answer?: string}} Topic
 * @typedef {{code?: string, message?: string, topic?: string, phrasing?: string}} Issue
 * @typedef {{
 *   id: string,
 *   text: string,
 *   count: number,
 *   last_at?: number | string,
 *   ids: string[],
 *   kinds?: Record<string, number>,
 *   examples: {text: string, at?: number | string}[],
 * }} Group
 * @typedef {{
 *   id: string,
 *   kind?: string,
 *   actor?: string,
 *   state?: string,
 *   events?: Record<string, any>[],
 *   next?: number,
 *   result?: Record<string, any>,
 * }} Job
 * @typedef {Record<string, any>} HistoryEntry
 * @typedef {Record<string, any>} AuditEntry
 */

/**
 * The fields that show errors, each with an error element `#<field>-error`; the answer editor,
 * the phrasings of the open topic, and the add form's four fields.
 * @typedef {"answer-edit" | "phrasing" | "add-key" | "add-group" | "add-phrasings" | "add-answer"} Field
 * @typedef {Partial<Record<Field, string>>} FieldErrors
 */

/** The add form's fields in page order (the first one refused gets the focus). */
/** @type {Field[]} */
export const ADD_FIELDS = ["add-key", "add-group", "add-phrasings", "add-answer"];

/**
 * @typedef {{key: string, group: string, phrasings: string, answer: string}} AddDraft
 * @typedef {{phrasings?: string[], resolves?: string[], source?: string, key?: string, group?: string, answer?: string}} AddPrefill
 * @typedef {{shown: boolean, percent: number, step: string, message: string, finished: boolean}} Progress
 * @typedef {{ok: boolean, title: string, lines: string[], worse: {topic: string, before: unknown, after: unknown}[]}} JobResult
 * @typedef {{running: boolean, status: string, items: (Issue & {warning: boolean})[]}} Validation
 */

/**
 * @typedef {"topics" | "unanswered" | "publish" | "audit"} Tab
 * @typedef {{
 *   view: "booting" | "login" | "denied" | "app",
 *   profile: Profile | null,
 *   tab: Tab,
 *   topics: TopicSummary[],
 *   search: string,
 *   sheet: "none" | "topic" | "add",
 *   current: Topic | null,
 *   answerDraft: string,
 *   savingAnswer: boolean,
 *   phrasingDraft: string,
 *   errors: FieldErrors,
 *   addError: string,
 *   add: AddDraft,
 *   resolves: string[],
 *   source: string,
 *   adding: boolean,
 *   issuesByTopic: Record<string, Issue[]>,
 *   groups: Group[],
 *   validation: Validation,
 *   publishing: {kind: string, actor: string} | null,
 *   progress: Progress,
 *   result: JobResult | null,
 *   history: HistoryEntry[] | null,
 *   audit: AuditEntry[] | null,
 *   auditFilter: string,
 *   toast: ToastState,
 * }} EditorState
 * `resolves`: the unanswered messages the topic being added answers. `publishing`: the publish or
 * rollback running now (by anyone). `history`, `audit`: null until loaded.
 */

/**
 * @typedef {(
 *   | {type: "signed-out"}
 *   | {type: "signed-in", profile: Profile}
 *   | {type: "tab", tab: Tab}
 *   | {type: "topics", topics: TopicSummary[]}
 *   | {type: "search", text: string}
 *   | {type: "topic-opened", topic: Topic}
 *   | {type: "answer-draft", text: string}
 *   | {type: "answer-reset"}
 *   | {type: "answer-saving", on: boolean}
 *   | {type: "phrasing-draft", text: string}
 *   | {type: "field-errors", errors: FieldErrors}
 *   | {type: "topic-edited", key: string}
 *   | {type: "topic-removed"}
 *   | {type: "add-open", prefill: AddPrefill}
 *   | {type: "add-field", field: keyof AddDraft, value: string}
 *   | {type: "add-cancel"}
 *   | {type: "add-submitting"}
 *   | {type: "add-refused", errors: FieldErrors, banner: string}
 *   | {type: "add-done"}
 *   | {type: "groups", groups: Group[]}
 *   | {type: "validation-started"}
 *   | {type: "validation-done", body: Record<string, any>}
 *   | {type: "validation-failed", message: string}
 *   | {type: "job-starting", kind: string}
 *   | {type: "job-refused", message: string}
 *   | {type: "job-update", job: Job | null}
 *   | {type: "history", entries: HistoryEntry[]}
 *   | {type: "audit", entries: AuditEntry[]}
 *   | {type: "audit-filter", text: string}
 *   | ToastAction
 * )} EditorAction
 */

/** @type {AddDraft} */
const EMPTY_ADD = { key: "", group: "", phrasings: "", answer: "" };
/** @type {Progress} */
const NO_PROGRESS = { shown: false, percent: 0, step: "", message: "", finished: false };

/**
 * @param {EditorState["view"]} [view]
 * @returns {EditorState}
 */
export function initialState(view = "booting") {
  return {
    view,
    profile: null,
    tab: "topics",
    topics: [],
    search: "",
    sheet: "none",
    current: null,
    answerDraft: "",
    savingAnswer: false,
    phrasingDraft: "",
    errors: {},
    addError: "",
    add: EMPTY_ADD,
    resolves: [],
    source: "",
    adding: false,
    issuesByTopic: {},
    groups: [],
    validation: { running: false, status: "", items: [] },
    publishing: null,
    progress: NO_PROGRESS,
    result: null,
    history: null,
    audit: null,
    auditFilter: "",
    toast: NO_TOAST,
  };
}

// --- the rules ---------------------------------------------------------------------------------

/**
 * The answer's length against the limit, as the counter shows it.
 * @param {string} text
 * @returns {{text: string, over: boolean}}
 */
export function answerCounter(text) {
  const length = text.trim().length;
  return { text: `${length} / ${MAX_ANSWER}`, over: length > MAX_ANSWER };
}

/**
 * The phrasings typed one per line.
 * @param {string} text
 * @returns {string[]}
 */
export function phrasingLines(text) {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}

/**
 * @param {string} text
 * @returns {{text: string, over: boolean}} `over`: fewer than the tool accepts
 */
export function phrasingCounter(text) {
  const count = phrasingLines(text).length;
  const few = count < MIN_PHRASINGS;
  return {
    text: `${count} ${count === 1 ? "phrasing" : "phrasings"}${few ? ` (at least ${MIN_PHRASINGS})` : ""}`,
    over: few,
  };
}

/**
 * The errors of a refusal: the tool's list, or the answer itself when it is one error.
 * @param {Record<string, any>} body
 * @returns {Issue[]}
 */
function errorsOf(body) {
  return Array.isArray(body.errors) && body.errors.length ? body.errors : [body];
}

/**
 * All of a refusal's messages as one sentence, for a field or a toast.
 * @param {Record<string, any>} body
 */
export function messagesOf(body) {
  return errorsOf(body)
    .map((e) => e.message || "The change was refused.")
    .join(" ");
}

/**
 * Puts each of the tool's messages next to the field it is about (by FIELD_OF); the rest are for
 * the form's banner. A likely conflict names its phrasing if the message does not.
 * @param {Record<string, any>} body the refusal
 * @param {"add-"} prefix the form's fields
 * @returns {{errors: FieldErrors, leftover: string[]}}
 */
export function placeToolErrors(body, prefix) {
  /** @type {FieldErrors} */
  const errors = {};
  /** @type {string[]} */
  const leftover = [];
  for (const error of errorsOf(body)) {
    const field = error.code ? FIELD_OF[error.code] : undefined;
    if (!field) {
      leftover.push(error.message || "The change was refused.");
      continue;
    }
    const target = /** @type {Field} */ (prefix + field);
    let message = error.message || "";
    if (error.code === "likely_conflict" && error.phrasing && !message.includes(error.phrasing)) {
      message = `“${error.phrasing}”: ${message}`;
    }
    errors[target] = errors[target] ? `${errors[target]} ${message}` : message;
  }
  return { errors, leftover };
}

/**
 * The last validation's messages about one topic, next to its answer or its phrasings.
 * @param {Issue[]} issues
 * @returns {FieldErrors}
 */
export function issueErrors(issues) {
  /** @type {FieldErrors} */
  const errors = {};
  for (const issue of issues) {
    const field = issue.code ? FIELD_OF[issue.code] : undefined;
    errors[field === "answer" ? "answer-edit" : "phrasing"] = issue.message || "";
  }
  return errors;
}

/**
 * The topics matching the search (key, group or answer).
 * @param {TopicSummary[]} topics
 * @param {string} search
 */
export function matchingTopics(topics, search) {
  const query = search.trim().toLowerCase();
  if (!query) return topics;
  return topics.filter((t) => `${t.key} ${t.group || ""} ${t.answer || ""}`.toLowerCase().includes(query));
}

/**
 * A group's examples as phrasings of a new topic, each wording once.
 * @param {Group} group
 * @returns {string[]}
 */
export function phrasingsFromGroup(group) {
  const seen = new Set();
  /** @type {string[]} */
  const phrasings = [];
  for (const example of group.examples || []) {
    const key = example.text.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    phrasings.push(example.text);
  }
  return phrasings;
}

/**
 * The progress bar after one more progress event of the tool.
 * @param {Progress} progress
 * @param {number | undefined} percent
 * @param {string | undefined} step
 * @param {string | undefined} message
 * @returns {Progress}
 */
export function advance(progress, percent, step, message) {
  return {
    shown: true,
    percent: Math.max(0, Math.min(100, Math.round(Number(percent) || 0))),
    step: step || progress.step,
    message: message || progress.message,
    finished: false,
  };
}

/**
 * Each step's class in the step list: the steps before the current one are done; all are when
 * the job finished well.
 * @param {Progress} progress
 * @returns {string[]} aligned with STEPS
 */
export function stepStates(progress) {
  if (progress.finished) return STEPS.map(() => "done");
  let reached = true;
  return STEPS.map((step) => {
    if (step === progress.step) {
      reached = false;
      return "current";
    }
    return reached && progress.step ? "done" : "";
  });
}

/**
 * What a finished publish or rollback says.
 * @param {Job} job
 * @returns {JobResult}
 */
export function resultOf(job) {
  const result = job.result || {};
  const what = job.kind === "rollback" ? "Rollback" : "Publish";
  if (result.ok) {
    return {
      ok: true,
      title: `${what} done${result.seconds ? ` in ${Math.round(result.seconds)} s` : ""}.`,
      lines: [`Live model: ${result.live_model || result.model || "unknown"}`],
      worse: [],
    };
  }
  return {
    ok: false,
    title: `${what} stopped. The live assistant was not changed.`,
    lines: (Array.isArray(result.errors) ? result.errors : []).map(
      (/** @type {any} */ e) => (e && e.message) || String(e),
    ),
    worse: Array.isArray(result.worse_topics) ? result.worse_topics : [],
  };
}

// --- the reducer -------------------------------------------------------------------------------

/**
 * The open topic as the server has it: the answer editor shows its answer, and the last
 * validation's messages about it are next to their fields.
 * @param {EditorState} state
 * @param {Topic} topic
 * @returns {EditorState}
 */
function showTopic(state, topic) {
  return {
    ...state,
    current: topic,
    sheet: "topic",
    answerDraft: topic.answer || "",
    savingAnswer: false,
    errors: issueErrors(state.issuesByTopic[topic.key] || []),
  };
}

/**
 * @param {EditorState} state
 * @param {Job | null} job
 * @returns {EditorState}
 */
function jobUpdate(state, job) {
  if (!job) return { ...state, publishing: null };
  const running = job.state === "running";
  let progress = state.progress;
  for (const event of job.events || []) {
    if (event.event === "progress") progress = advance(progress, event.percent, event.step, event.message);
  }
  const next = {
    ...state,
    publishing: running ? { kind: job.kind || "publish", actor: job.actor || "" } : null,
    progress,
  };
  if (running) return next;
  const result = resultOf(job);
  return {
    ...next,
    result,
    progress: result.ok ? { shown: true, percent: 100, step: "swap", message: "Done.", finished: true } : progress,
  };
}

/**
 * @param {EditorState} state
 * @param {EditorAction} action
 * @returns {EditorState}
 */
export function reduce(state, action) {
  switch (action.type) {
    case "signed-out":
      return initialState("login");
    case "signed-in": {
      const role = action.profile.role;
      const view = role === "editor" || role === "admin" ? "app" : "denied";
      return { ...initialState(view), profile: action.profile };
    }
    case "tab":
      return { ...state, tab: action.tab };
    case "topics":
      return { ...state, topics: action.topics };
    case "search":
      return { ...state, search: action.text };
    case "topic-opened":
      return showTopic(state, action.topic);
    case "answer-draft":
      return { ...state, answerDraft: action.text };
    case "answer-reset":
      return state.current ? showTopic(state, state.current) : state;
    case "answer-saving":
      return { ...state, savingAnswer: action.on };
    case "phrasing-draft":
      return { ...state, phrasingDraft: action.text };
    case "field-errors":
      return { ...state, errors: { ...state.errors, ...action.errors } };
    case "topic-edited": {
      // The change went through: the last validation's messages about it are out of date.
      const issues = { ...state.issuesByTopic };
      delete issues[action.key];
      return { ...state, issuesByTopic: issues };
    }
    case "topic-removed":
      return { ...state, current: null, sheet: "none" };
    case "add-open": {
      const p = action.prefill;
      return {
        ...state,
        tab: "topics",
        sheet: "add",
        current: null,
        errors: {},
        addError: "",
        adding: false,
        add: {
          key: p.key || "",
          group: p.group || "",
          phrasings: (p.phrasings || []).join("\n"),
          answer: p.answer || "",
        },
        resolves: p.resolves || [],
        source: p.source || "",
      };
    }
    case "add-field":
      return { ...state, add: { ...state.add, [action.field]: action.value } };
    case "add-cancel":
      return { ...state, sheet: "none", resolves: [] };
    case "add-submitting":
      return { ...state, adding: true, errors: {}, addError: "" };
    case "add-refused":
      return { ...state, adding: false, errors: action.errors, addError: action.banner };
    case "add-done":
      return { ...state, adding: false, resolves: [], source: "" };
    case "groups":
      return { ...state, groups: action.groups };
    case "validation-started":
      return {
        ...state,
        validation: { running: true, status: "Checking every topic… (Rasa's own check takes a little while)", items: [] },
      };
    case "validation-failed":
      return { ...state, validation: { running: false, status: action.message, items: [] } };
    case "validation-done": {
      /** @type {Issue[]} */
      const errors = Array.isArray(action.body.errors) ? action.body.errors : [];
      /** @type {Issue[]} */
      const warnings = action.body.warnings || action.body.messages || [];
      /** @type {Record<string, Issue[]>} */
      const issuesByTopic = {};
      for (const issue of errors) {
        if (issue.topic) (issuesByTopic[issue.topic] = issuesByTopic[issue.topic] || []).push(issue);
      }
      const status = errors.length
        ? `${errors.length} ${errors.length === 1 ? "problem" : "problems"} to fix before publishing.`
        : "Everything checks out. Ready to publish.";
      return {
        ...state,
        issuesByTopic,
        validation: {
          running: false,
          status,
          items: [
            ...errors.map((issue) => ({ ...issue, warning: false })),
            ...warnings.map((issue) => ({ ...(typeof issue === "object" ? issue : { message: String(issue) }), warning: true })),
          ],
        },
      };
    }
    case "job-starting":
      return {
        ...state,
        result: null,
        progress: advance(NO_PROGRESS, 0, "validate", action.kind === "rollback" ? "Starting the rollback…" : "Starting…"),
      };
    case "job-refused":
      return {
        ...state,
        progress: { ...state.progress, shown: false },
        result: { ok: false, title: action.message, lines: [], worse: [] },
      };
    case "job-update":
      return jobUpdate(state, action.job);
    case "history":
      return { ...state, history: action.entries };
    case "audit":
      return { ...state, audit: action.entries };
    case "audit-filter":
      return { ...state, auditFilter: action.text };
    case "toast":
    case "toast-hidden":
      return { ...state, toast: toastReducer(state.toast, action) };
    default:
      return state;
  }
}
