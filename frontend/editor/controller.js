// The editor's side effects: calls to /api/faq/... (handoff/editor/api.py), polling a publish
// job, the confirm dialog, toasts and focus. Every change of state goes through the reducer
// (state.js); components call the Actions returned here.
import { ApiError } from "../common/api.js";
import { confirmDialog } from "../common/dialog.js";
import { focusOn } from "../common/forms.js";
import { mayEdit } from "../common/session.js";
import { ADD_FIELDS, messagesOf, phrasingLines, phrasingsFromGroup, placeToolErrors } from "./state.js";

/**
 * @typedef {import("./state.js").EditorState} EditorState
 * @typedef {import("./state.js").EditorAction} EditorAction
 * @typedef {import("./state.js").Tab} Tab
 * @typedef {import("./state.js").Group} Group
 * @typedef {import("./state.js").AddDraft} AddDraft
 * @typedef {import("./state.js").HistoryEntry} HistoryEntry
 * @typedef {import("./state.js").AddPrefill} AddPrefill
 * @typedef {import("../common/store.js").Store<EditorState, EditorAction>} EditorStore
 * @typedef {import("../common/session.js").Session} Session
 * @typedef {import("../common/session.js").Profile} Profile
 */

/**
 * @typedef {{
 *   signIn: (username: string, password: string) => Promise<void>,
 *   signOut: () => void,
 *   showTab: (tab: Tab) => void,
 *   search: (text: string) => void,
 *   openTopic: (key: string) => void,
 *   answerDraft: (text: string) => void,
 *   resetAnswer: () => void,
 *   saveAnswer: () => void,
 *   removeTopic: () => void,
 *   phrasingDraft: (text: string) => void,
 *   addPhrasing: () => void,
 *   removePhrasing: (text: string) => void,
 *   newTopic: () => void,
 *   addField: (field: keyof AddDraft, value: string) => void,
 *   cancelAdd: () => void,
 *   submitAdd: () => void,
 *   addToTopic: (group: Group, key: string) => boolean,
 *   newTopicFromGroup: (group: Group) => void,
 *   dismiss: (group: Group) => void,
 *   loadUnanswered: () => void,
 *   validate: () => void,
 *   openIssue: (topic: string) => void,
 *   publish: () => void,
 *   rollback: (entry: HistoryEntry) => void,
 *   loadHistory: () => void,
 *   auditFilter: (text: string) => void,
 *   loadAudit: () => void,
 * }} Actions
 */

/** How often a running publish is asked for news. */
const POLL_MS = 700;

/**
 * The body of a refused request: the server's answer, or a sentence for anything else.
 * @param {unknown} err
 * @returns {Record<string, any>}
 */
function refusal(err) {
  if (err instanceof ApiError && err.body && typeof err.body === "object") return /** @type {any} */ (err.body);
  return { message: err instanceof Error ? err.message : String(err) };
}

/**
 * The server's own sentence for a refusal, else `fallback`.
 * @param {unknown} err
 * @param {string} fallback
 */
function reason(err, fallback) {
  return refusal(err).message || fallback;
}

/**
 * @param {string} key
 */
function topicPath(key) {
  return `/api/faq/topics/${encodeURIComponent(key)}`;
}

/**
 * @param {{store: EditorStore, session: Session, toast: (text: string, kind?: string) => void}} deps
 */
export function createController(deps) {
  const store = deps.store;
  const session = deps.session;
  const toast = deps.toast;
  const dispatch = store.dispatch;
  const api = session.api;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let pollTimer = null;

  function stopPolling() {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  /** @param {Profile} profile */
  function start(profile) {
    dispatch({ type: "signed-in", profile });
    if (!mayEdit(profile.role)) return;
    void loadTopics();
    void loadUnanswered();
    void checkRunningJob();
  }

  function stop() {
    stopPolling();
    dispatch({ type: "signed-out" });
  }

  // --- topics ------------------------------------------------------------------------------

  async function loadTopics() {
    try {
      const data = await api("GET", "/api/faq/topics");
      dispatch({ type: "topics", topics: Array.isArray(data.topics) ? data.topics : [] });
    } catch (err) {
      toast(reason(err, "Could not load the topics."), "error");
    }
  }

  /**
   * @param {string} key
   * @returns {Promise<boolean>} whether it opened
   */
  async function openTopic(key) {
    try {
      const data = await api("GET", topicPath(key));
      dispatch({ type: "topic-opened", topic: data.topic });
      focusOn("topic-title");
      return true;
    } catch (err) {
      toast(reason(err, "Could not open the topic."), "error");
      return false;
    }
  }

  /**
   * A change to the open topic: on success it is shown again as the tool wrote it.
   * @param {Record<string, any>} changes
   * @param {"phrasing" | "answer-edit"} field where a refusal is shown
   * @param {boolean} phrasingsChanged the last validation's messages about the topic are stale
   * @returns {Promise<boolean>}
   */
  async function editTopic(changes, field, phrasingsChanged) {
    const current = store.get().current;
    if (!current) return false;
    try {
      await api("PATCH", topicPath(current.key), changes);
    } catch (err) {
      dispatch({ type: "field-errors", errors: { [field]: messagesOf(refusal(err)) } });
      return false;
    }
    if (phrasingsChanged) dispatch({ type: "topic-edited", key: current.key });
    await openTopic(current.key);
    void loadTopics();
    return true;
  }

  /** @param {AddPrefill} prefill */
  function openAddForm(prefill) {
    dispatch({ type: "add-open", prefill });
    focusOn("add-key");
  }

  // --- unanswered questions ----------------------------------------------------------------

  async function loadUnanswered() {
    try {
      const data = await api("GET", "/api/faq/unanswered");
      dispatch({ type: "groups", groups: Array.isArray(data.groups) ? data.groups : [] });
    } catch {
      // The list stays as it was; the tab's Refresh tries again.
    }
  }

  // --- publish and rollback ----------------------------------------------------------------

  /**
   * Follow a publish or rollback job until it ends, asking for the events after `after`.
   * @param {string} jobId
   * @param {number} after
   */
  async function follow(jobId, after) {
    stopPolling();
    let job;
    try {
      job = await api("GET", `/api/faq/jobs/${encodeURIComponent(jobId)}?after=${after}`);
    } catch {
      dispatch({ type: "job-update", job: null });
      return;
    }
    if (!session.current) return;
    dispatch({ type: "job-update", job });
    if (job.state === "running") {
      pollTimer = setTimeout(() => void follow(jobId, job.next), POLL_MS);
      return;
    }
    void loadHistory();
  }

  /** @param {"publish" | "rollback"} kind */
  async function startJob(kind) {
    dispatch({ type: "job-starting", kind });
    let answer;
    try {
      answer = await api("POST", `/api/faq/${kind}`);
    } catch (err) {
      const body = refusal(err);
      dispatch({ type: "job-refused", message: body.message || "Could not start." });
      // Someone else is publishing: show theirs.
      if (body.job && body.job.id) void follow(body.job.id, 0);
      return;
    }
    const me = session.current;
    dispatch({ type: "job-update", job: { id: answer.job, kind, actor: me ? me.user : "", state: "running", events: [] } });
    void follow(answer.job, 0);
  }

  async function checkRunningJob() {
    try {
      const data = await api("GET", "/api/faq/jobs/current");
      if (data.job && data.job.state === "running") void follow(data.job.id, 0);
    } catch {
      // Nothing to show; the Publish button says otherwise if someone is publishing.
    }
  }

  async function loadHistory() {
    try {
      const data = await api("GET", "/api/faq/history");
      const entries = Array.isArray(data.history) ? data.history.slice().reverse() : [];
      dispatch({ type: "history", entries });
    } catch (err) {
      toast(reason(err, "Could not load the history."), "error");
    }
  }

  async function loadAudit() {
    try {
      const data = await api("GET", "/api/faq/audit?limit=500");
      dispatch({ type: "audit", entries: Array.isArray(data.entries) ? data.entries : [] });
    } catch (err) {
      toast(reason(err, "Could not load the audit log."), "error");
    }
  }

  /** @type {Actions} */
  const act = {
    signIn: (username, password) => session.signIn(username, password),
    signOut: () => void session.signOut(),
    showTab(tab) {
      dispatch({ type: "tab", tab });
      if (tab === "unanswered") void loadUnanswered();
      if (tab === "publish") void loadHistory();
      if (tab === "audit") void loadAudit();
    },
    search: (text) => dispatch({ type: "search", text }),
    openTopic: (key) => void openTopic(key),
    answerDraft: (text) => dispatch({ type: "answer-draft", text }),
    resetAnswer: () => dispatch({ type: "answer-reset" }),
    async saveAnswer() {
      dispatch({ type: "field-errors", errors: { "answer-edit": "" } });
      const text = store.get().answerDraft.trim();
      if (!text) {
        dispatch({ type: "field-errors", errors: { "answer-edit": "The answer cannot be empty." } });
        return;
      }
      dispatch({ type: "answer-saving", on: true });
      if (await editTopic({ answer: text }, "answer-edit", false)) {
        toast("Answer saved. Customers see it from their next question.", "ok");
      } else {
        dispatch({ type: "answer-saving", on: false });
      }
    },
    async removeTopic() {
      const current = store.get().current;
      if (!current) return;
      const key = current.key;
      const yes = await confirmDialog({
        title: `Remove ${key}?`,
        text: "The topic and its phrasings are removed. The assistant stops answering it after the next publish.",
        confirm: "Remove topic",
        danger: true,
      });
      if (!yes) return;
      try {
        await api("DELETE", topicPath(key));
      } catch (err) {
        toast(reason(err, "Could not remove the topic."), "error");
        return;
      }
      dispatch({ type: "topic-removed" });
      void loadTopics();
      toast(`${key} removed. Publish to make it count.`, "ok");
    },
    phrasingDraft: (text) => dispatch({ type: "phrasing-draft", text }),
    async addPhrasing() {
      dispatch({ type: "field-errors", errors: { phrasing: "" } });
      const text = store.get().phrasingDraft.trim();
      if (!text) {
        dispatch({ type: "field-errors", errors: { phrasing: "Type how a customer might ask this question." } });
        focusOn("phrasing-new");
        return;
      }
      if (await editTopic({ add_phrasings: [text] }, "phrasing", true)) {
        dispatch({ type: "phrasing-draft", text: "" });
        toast("Phrasing added. Publish to make it count.", "ok");
      }
      focusOn("phrasing-new");
    },
    async removePhrasing(text) {
      dispatch({ type: "field-errors", errors: { phrasing: "" } });
      if (await editTopic({ remove_phrasings: [text] }, "phrasing", true)) {
        toast("Phrasing removed. Publish to make it count.", "ok");
      }
    },
    newTopic: () => openAddForm({}),
    addField: (field, value) => dispatch({ type: "add-field", field, value }),
    cancelAdd: () => dispatch({ type: "add-cancel" }),
    async submitAdd() {
      const state = store.get();
      if (state.adding) return;
      const body = {
        key: state.add.key.trim(),
        group: state.add.group.trim() || null,
        phrasings: phrasingLines(state.add.phrasings),
        answer: state.add.answer.trim(),
        resolves: state.resolves,
      };
      dispatch({ type: "add-submitting" });
      try {
        await api("POST", "/api/faq/topics", body);
      } catch (err) {
        const placed = placeToolErrors(refusal(err), "add-");
        dispatch({ type: "add-refused", errors: placed.errors, banner: placed.leftover.join(" ") });
        const first = ADD_FIELDS.find((field) => placed.errors[field]);
        if (first) focusOn(first);
        return;
      }
      dispatch({ type: "add-done" });
      toast(`${body.key} added. Publish to teach it to the assistant.`, "ok");
      void loadTopics().then(() => openTopic(body.key));
      void loadUnanswered();
    },
    addToTopic(group, key) {
      if (!key) {
        toast("Choose the topic this question belongs to.", "warn");
        return false;
      }
      void (async () => {
        try {
          await api("PATCH", topicPath(key), { add_phrasings: [group.text], resolves: group.ids });
        } catch (err) {
          toast(messagesOf(refusal(err)), "error");
          return;
        }
        toast(`Added to ${key}. Publish to make it count.`, "ok");
        void loadUnanswered();
        void loadTopics();
      })();
      return true;
    },
    newTopicFromGroup(group) {
      openAddForm({
        phrasings: phrasingsFromGroup(group),
        resolves: group.ids,
        source: `From ${group.count} unanswered ${group.count === 1 ? "question" : "questions"}. Add a key, more ways of asking and the answer.`,
      });
    },
    async dismiss(group) {
      let data;
      try {
        data = await api("POST", "/api/faq/unanswered/dismiss", { ids: group.ids });
      } catch (err) {
        toast(reason(err, "Could not dismiss."), "error");
        return;
      }
      toast(`Dismissed ${data.dismissed} ${data.dismissed === 1 ? "message." : "messages."}`, "ok");
      void loadUnanswered();
    },
    loadUnanswered: () => void loadUnanswered(),
    async validate() {
      dispatch({ type: "validation-started" });
      try {
        const body = await api("POST", "/api/faq/validate");
        dispatch({ type: "validation-done", body });
      } catch (err) {
        dispatch({ type: "validation-failed", message: reason(err, "Validation could not run.") });
      }
    },
    openIssue(topic) {
      act.showTab("topics");
      void openTopic(topic);
    },
    publish: () => void startJob("publish"),
    async rollback(entry) {
      const yes = await confirmDialog({
        title: "Roll back?",
        text: `The model that was live before, ${entry.previous_model}, goes live again with its answers.`,
        confirm: "Roll back",
        danger: true,
      });
      if (yes) void startJob("rollback");
    },
    loadHistory: () => void loadHistory(),
    auditFilter: (text) => dispatch({ type: "audit-filter", text }),
    loadAudit: () => void loadAudit(),
  };

  return { act, start, stop };
}
