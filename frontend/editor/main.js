// @ts-nocheck -- not yet ported to modules
/* Harbor Assist FAQ editor: topics, unanswered questions, publish, audit log.
 *
 * Talks to /api/faq/... (handoff/editor.py). Every piece of data is put on the page with
 * textContent, never as HTML, so a topic's answer or a customer's message can never run as code.
 * Roles are enforced by the server; the page only hides what the server would refuse anyway.
 */
(function () {
  "use strict";

  var MAX_ANSWER = 1000;      // bot/faq/validation.py MAX_ANSWER_CHARS
  var MIN_PHRASINGS = 5;      // bot/faq/validation.py MIN_PHRASINGS
  var STEP_NAMES = { validate: "Validating", train: "Training", check: "Checking", swap: "Going live" };
  // Which field an error from the FAQ tool is about, by its code.
  var FIELD_OF = {
    key_format: "key", topic_exists: "key", unknown_topic: "key",
    too_few_phrasings: "phrasings", duplicate_phrasing: "phrasings", likely_conflict: "phrasings",
    empty_answer: "answer", answer_too_long: "answer",
    group_format: "group"
  };

  var me = null;
  var topics = [];
  var current = null;            // the topic open in the detail view
  var issuesByTopic = {};        // last validation's messages, by topic key
  var groups = [];
  var pendingResolves = [];      // unanswered ids a new topic answers
  var auditEntries = [];
  var pollTimer = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && me) headers["X-CSRF-Token"] = me.csrf;
    return fetch(path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401 && path !== "/api/login") showLogin();
        return { ok: response.ok, status: response.status, body: data };
      });
    }, function () {
      return { ok: false, status: 0, body: { error: "network", message: "The server cannot be reached. Check your connection and try again." } };
    });
  }

  var toastTimer = null;
  function toast(text, tone) {
    var node = $("toast");
    node.textContent = text;
    node.className = "toast" + (tone ? " toast-" + tone : "");
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { node.hidden = true; }, 4000);
  }

  function when(value) {
    var date = typeof value === "number" ? new Date(value) : new Date(String(value));
    if (isNaN(date.getTime())) return String(value || "");
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  // --- dialogs -------------------------------------------------------------------------------

  function confirmDialog(title, text, okLabel, danger) {
    return new Promise(function (resolve) {
      var fragment = $("dialog-template").content.cloneNode(true);
      var backdrop = fragment.querySelector(".dialog-backdrop");
      var dialog = fragment.querySelector(".dialog");
      var titleNode = fragment.querySelector(".dialog-title");
      titleNode.id = "dialog-title";
      titleNode.textContent = title;
      dialog.setAttribute("aria-labelledby", "dialog-title");
      fragment.querySelector(".dialog-text").textContent = text;
      var ok = fragment.querySelector(".dialog-ok");
      var cancel = fragment.querySelector(".dialog-cancel");
      ok.textContent = okLabel;
      if (danger) ok.className = "btn btn-danger dialog-ok";
      var previous = document.activeElement;
      function close(answer) {
        backdrop.remove();
        if (previous && previous.focus) previous.focus();
        resolve(answer);
      }
      ok.addEventListener("click", function () { close(true); });
      cancel.addEventListener("click", function () { close(false); });
      backdrop.addEventListener("keydown", function (event) {
        if (event.key === "Escape") close(false);
        if (event.key === "Tab") {  // keep focus inside the dialog
          event.preventDefault();
          (document.activeElement === ok ? cancel : ok).focus();
        }
      });
      document.body.appendChild(fragment);
      cancel.focus();
    });
  }

  // --- session -------------------------------------------------------------------------------

  function showOnly(view) {
    ["login-view", "denied-view", "app-view"].forEach(function (id) { $(id).hidden = id !== view; });
  }

  function showLogin() {
    me = null;
    stopPolling();
    showOnly("login-view");
    $("login-user").focus();
  }

  function start(profile) {
    me = profile;
    if (me.role !== "editor" && me.role !== "admin") {
      showOnly("denied-view");
      return;
    }
    showOnly("app-view");
    $("me").textContent = (me.display_name || me.user) + " · " + me.role;
    $("tab-audit").hidden = me.role !== "admin";
    loadTopics();
    loadUnanswered();
    checkRunningJob();
  }

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var error = $("login-error");
    error.hidden = true;
    api("POST", "/api/login", { username: $("login-user").value, password: $("login-pass").value })
      .then(function (answer) {
        if (!answer.ok) {
          error.textContent = answer.body.message || "Sign-in failed.";
          error.hidden = false;
          return;
        }
        $("login-pass").value = "";
        start(answer.body);
      });
  });

  $("logout").addEventListener("click", function () {
    api("POST", "/api/logout").then(showLogin);
  });

  // --- tabs ----------------------------------------------------------------------------------

  var TABS = ["topics", "unanswered", "publish", "audit"];

  function selectTab(name, focus) {
    TABS.forEach(function (tab) {
      var button = $("tab-" + tab);
      var selected = tab === name;
      button.setAttribute("aria-selected", selected ? "true" : "false");
      button.tabIndex = selected ? 0 : -1;
      $("panel-" + tab).hidden = !selected;
    });
    if (focus) $("tab-" + name).focus();
    if (name === "unanswered") loadUnanswered();
    if (name === "publish") loadHistory();
    if (name === "audit") loadAudit();
  }

  TABS.forEach(function (tab) {
    $("tab-" + tab).addEventListener("click", function () { selectTab(tab, false); });
    $("tab-" + tab).addEventListener("keydown", function (event) {
      var visible = TABS.filter(function (t) { return !$("tab-" + t).hidden; });
      var index = visible.indexOf(tab);
      if (event.key === "ArrowRight") selectTab(visible[(index + 1) % visible.length], true);
      else if (event.key === "ArrowLeft") selectTab(visible[(index - 1 + visible.length) % visible.length], true);
      else return;
      event.preventDefault();
    });
  });

  // --- topics --------------------------------------------------------------------------------

  function loadTopics() {
    return api("GET", "/api/faq/topics").then(function (answer) {
      if (!answer.ok) { toast(answer.body.message || "Could not load the topics.", "error"); return; }
      topics = answer.body.topics || [];
      renderTopicList();
      renderGroups();  // their "add as a phrasing of" lists name the topics
      var groupsSeen = {};
      var options = $("group-options");
      clear(options);
      topics.forEach(function (t) {
        if (t.group && !groupsSeen[t.group]) {
          groupsSeen[t.group] = true;
          var option = document.createElement("option");
          option.value = t.group;
          options.appendChild(option);
        }
      });
    });
  }

  function renderTopicList() {
    var query = $("topic-search").value.trim().toLowerCase();
    var list = $("topic-list");
    clear(list);
    var shown = topics.filter(function (t) {
      return !query || (t.key + " " + (t.group || "") + " " + (t.answer || "")).toLowerCase().indexOf(query) !== -1;
    });
    shown.forEach(function (t) {
      var item = el("li");
      var button = el("button", "topic-item" + (current && current.key === t.key ? " selected" : ""));
      button.type = "button";
      button.dataset.key = t.key;
      if (current && current.key === t.key) button.setAttribute("aria-current", "true");
      var top = el("span", "topic-item-top");
      top.appendChild(el("span", "topic-key", t.key));
      var count = el("span", "count", t.phrasings);
      count.title = t.phrasings + " phrasings";
      top.appendChild(count);
      button.appendChild(top);
      button.appendChild(el("span", "topic-preview", t.answer || "No answer yet"));
      if (issuesByTopic[t.key]) button.appendChild(el("span", "topic-flag", issuesByTopic[t.key].length + " to fix"));
      button.addEventListener("click", function () { openTopic(t.key); });
      item.appendChild(button);
      list.appendChild(item);
    });
    $("topic-empty").hidden = shown.length > 0 || topics.length === 0;
    $("topic-summary").textContent = query
      ? shown.length + " of " + topics.length + " topics"
      : topics.length + " topics";
  }

  $("topic-search").addEventListener("input", renderTopicList);

  function showSheet(which) {
    $("topic-none").hidden = which !== "none";
    $("topic-view").hidden = which !== "topic";
    $("add-form").hidden = which !== "add";
  }

  function setFieldError(id, message) {
    var node = $(id);
    var input = node.id.replace(/-error$/, "");
    node.textContent = message || "";
    node.hidden = !message;
    var field = $(input);
    if (field) field.setAttribute("aria-invalid", message ? "true" : "false");
  }

  function openTopic(key) {
    return api("GET", "/api/faq/topics/" + encodeURIComponent(key)).then(function (answer) {
      if (!answer.ok) { toast(answer.body.message || "Could not open the topic.", "error"); return; }
      current = answer.body.topic;
      renderTopic();
      renderTopicList();
      showSheet("topic");
      $("topic-title").focus();
    });
  }

  function renderTopic() {
    $("topic-title").textContent = current.key;
    $("topic-title").tabIndex = -1;
    $("topic-sub").textContent = "Group: " + (current.group || "general");
    $("answer-edit").value = current.answer || "";
    updateAnswerCounter("answer-edit");
    $("answer-save").disabled = true;
    $("answer-reset").disabled = true;
    setFieldError("answer-edit-error", "");
    setFieldError("phrasing-error", "");
    renderPhrasings();
    // Messages from the last validation appear next to the field they are about.
    (issuesByTopic[current.key] || []).forEach(function (issue) {
      var field = FIELD_OF[issue.code];
      if (field === "answer") setFieldError("answer-edit-error", issue.message);
      else setFieldError("phrasing-error", issue.message);
    });
  }

  function renderPhrasings() {
    var list = $("phrasing-list");
    clear(list);
    var phrasings = current.phrasings || [];
    $("phrasing-count").textContent = phrasings.length;
    phrasings.forEach(function (text) {
      var item = el("li", "phrasing");
      item.appendChild(el("span", "phrasing-text", text));
      var remove = el("button", "icon-btn", "×");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove phrasing: " + text);
      remove.title = "Remove this phrasing";
      remove.addEventListener("click", function () { removePhrasing(text); });
      item.appendChild(remove);
      list.appendChild(item);
    });
  }

  function showToolError(answer, prefix) {
    // Put each of the tool's messages next to its field; the rest go to the form's banner.
    var errors = answer.body.errors && answer.body.errors.length ? answer.body.errors : [answer.body];
    var leftover = [];
    errors.forEach(function (error) {
      var field = FIELD_OF[error.code];
      var target = field ? $(prefix + field + "-error") : null;
      if (target) {
        var message = error.message;
        if (error.code === "likely_conflict" && error.phrasing && message.indexOf(error.phrasing) === -1) {
          message = "“" + error.phrasing + "”: " + message;
        }
        setFieldError(target.id, target.hidden ? message : target.textContent + " " + message);
      } else {
        leftover.push(error.message || "The change was refused.");
      }
    });
    return leftover;
  }

  function messagesOf(answer) {
    var errors = answer.body.errors && answer.body.errors.length ? answer.body.errors : [answer.body];
    return errors.map(function (e) { return e.message || "The change was refused."; }).join(" ");
  }

  function editTopic(changes, errorId) {
    return api("PATCH", "/api/faq/topics/" + encodeURIComponent(current.key), changes).then(function (answer) {
      if (!answer.ok) {
        setFieldError(errorId, messagesOf(answer));
        return false;
      }
      delete issuesByTopic[current.key];
      return openTopic(current.key).then(function () { loadTopics(); return true; });
    });
  }

  function removePhrasing(text) {
    setFieldError("phrasing-error", "");
    editTopic({ remove_phrasings: [text] }, "phrasing-error").then(function (ok) {
      if (ok) toast("Phrasing removed. Publish to make it count.", "ok");
    });
  }

  $("phrasing-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("phrasing-new");
    var text = input.value.trim();
    setFieldError("phrasing-error", "");
    if (!text) { setFieldError("phrasing-error", "Type how a customer might ask this question."); input.focus(); return; }
    api("PATCH", "/api/faq/topics/" + encodeURIComponent(current.key), { add_phrasings: [text] }).then(function (answer) {
      if (!answer.ok) {
        setFieldError("phrasing-error", messagesOf(answer));
        input.focus();
        return;
      }
      input.value = "";
      delete issuesByTopic[current.key];
      openTopic(current.key).then(function () { loadTopics(); input.focus(); });
      toast("Phrasing added. Publish to make it count.", "ok");
    });
  });

  function updateAnswerCounter(id) {
    var length = $(id).value.trim().length;
    var counter = $(id + "-count");
    counter.textContent = length + " / " + MAX_ANSWER;
    counter.classList.toggle("over", length > MAX_ANSWER);
  }

  $("answer-edit").addEventListener("input", function () {
    updateAnswerCounter("answer-edit");
    var changed = $("answer-edit").value !== (current.answer || "");
    $("answer-save").disabled = !changed;
    $("answer-reset").disabled = !changed;
  });

  $("answer-reset").addEventListener("click", function () { renderTopic(); });

  $("answer-save").addEventListener("click", function () {
    setFieldError("answer-edit-error", "");
    var answerText = $("answer-edit").value.trim();
    if (!answerText) { setFieldError("answer-edit-error", "The answer cannot be empty."); return; }
    $("answer-save").disabled = true;
    api("PATCH", "/api/faq/topics/" + encodeURIComponent(current.key), { answer: answerText }).then(function (answer) {
      if (!answer.ok) {
        setFieldError("answer-edit-error", messagesOf(answer));
        $("answer-save").disabled = false;
        return;
      }
      toast("Answer saved. Customers see it from their next question.", "ok");
      openTopic(current.key).then(loadTopics);
    });
  });

  $("topic-remove").addEventListener("click", function () {
    var key = current.key;
    confirmDialog("Remove " + key + "?", "The topic and its phrasings are removed. The assistant stops answering it after the next publish.", "Remove topic", true)
      .then(function (yes) {
        if (!yes) return;
        api("DELETE", "/api/faq/topics/" + encodeURIComponent(key)).then(function (answer) {
          if (!answer.ok) { toast(answer.body.message || "Could not remove the topic.", "error"); return; }
          current = null;
          showSheet("none");
          loadTopics();
          toast(key + " removed. Publish to make it count.", "ok");
        });
      });
  });

  // --- new topic -----------------------------------------------------------------------------

  function phrasingLines() {
    return $("add-phrasings").value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
  }

  function updatePhrasingCounter() {
    var count = phrasingLines().length;
    var counter = $("add-phrasings-count");
    counter.textContent = count + (count === 1 ? " phrasing" : " phrasings") + (count < MIN_PHRASINGS ? " (at least " + MIN_PHRASINGS + ")" : "");
    counter.classList.toggle("over", count < MIN_PHRASINGS);
  }

  function openAddForm(prefill) {
    prefill = prefill || {};
    ["add-key-error", "add-group-error", "add-phrasings-error", "add-answer-error"].forEach(function (id) { setFieldError(id, ""); });
    $("add-error").hidden = true;
    $("add-key").value = prefill.key || "";
    $("add-group").value = prefill.group || "";
    $("add-phrasings").value = (prefill.phrasings || []).join("\n");
    $("add-answer").value = prefill.answer || "";
    pendingResolves = prefill.resolves || [];
    $("add-source").hidden = !prefill.source;
    $("add-source").textContent = prefill.source || "";
    updatePhrasingCounter();
    updateAnswerCounter("add-answer");
    current = null;
    renderTopicList();
    selectTab("topics", false);
    showSheet("add");
    $("add-key").focus();
  }

  $("new-topic").addEventListener("click", function () { openAddForm(); });
  $("add-cancel").addEventListener("click", function () { showSheet("none"); pendingResolves = []; });
  $("add-phrasings").addEventListener("input", updatePhrasingCounter);
  $("add-answer").addEventListener("input", function () { updateAnswerCounter("add-answer"); });

  $("add-form").addEventListener("submit", function (event) {
    event.preventDefault();
    ["add-key-error", "add-group-error", "add-phrasings-error", "add-answer-error"].forEach(function (id) { setFieldError(id, ""); });
    $("add-error").hidden = true;
    var body = {
      key: $("add-key").value.trim(),
      group: $("add-group").value.trim() || null,
      phrasings: phrasingLines(),
      answer: $("add-answer").value.trim(),
      resolves: pendingResolves
    };
    var submit = $("add-form").querySelector("button[type=submit]");
    submit.disabled = true;
    submit.textContent = "Adding…";
    api("POST", "/api/faq/topics", body).then(function (answer) {
      submit.disabled = false;
      submit.textContent = "Add topic";
      if (!answer.ok) {
        var leftover = showToolError(answer, "add-");
        if (leftover.length) { $("add-error").textContent = leftover.join(" "); $("add-error").hidden = false; }
        var firstInvalid = $("add-form").querySelector("[aria-invalid=true]");
        if (firstInvalid) firstInvalid.focus();
        return;
      }
      pendingResolves = [];
      toast(body.key + " added. Publish to teach it to the assistant.", "ok");
      loadTopics().then(function () { openTopic(body.key); });
      loadUnanswered();
    });
  });

  // --- unanswered questions ------------------------------------------------------------------

  function loadUnanswered() {
    return api("GET", "/api/faq/unanswered").then(function (answer) {
      if (!answer.ok) return;
      groups = answer.body.groups || [];
      var badge = $("unanswered-count");
      badge.textContent = groups.length;
      badge.hidden = groups.length === 0;
      renderGroups();
    });
  }

  function renderGroups() {
    var list = $("group-list");
    clear(list);
    $("group-empty").hidden = groups.length > 0;
    groups.forEach(function (group, index) {
      var card = el("li", "group-card");
      var head = el("div", "group-head");
      var count = el("span", "group-count", group.count);
      count.setAttribute("aria-label", group.count + (group.count === 1 ? " message" : " messages"));
      head.appendChild(count);
      var titleId = "group-title-" + index;
      var title = el("p", "group-text", group.text);
      title.id = titleId;
      head.appendChild(title);
      var meta = el("span", "group-meta", "last " + when(group.last_at));
      head.appendChild(meta);
      card.appendChild(head);
      card.setAttribute("aria-labelledby", titleId);

      var kinds = el("p", "group-kinds");
      Object.keys(group.kinds || {}).forEach(function (kind) {
        kinds.appendChild(el("span", "kind kind-" + kind, group.kinds[kind] + " " + (kind === "fallback" ? "asked to rephrase" : "escalated")));
      });
      card.appendChild(kinds);

      if (group.examples.length > 1) {
        var details = el("details", "group-examples");
        details.appendChild(el("summary", null, "Examples (" + group.examples.length + (group.count > group.examples.length ? " of " + group.count : "") + ")"));
        var examples = el("ul");
        group.examples.forEach(function (example) {
          var item = el("li");
          item.appendChild(el("span", null, example.text));
          item.appendChild(el("span", "muted small", " · " + when(example.at)));
          examples.appendChild(item);
        });
        details.appendChild(examples);
        card.appendChild(details);
      }

      var actions = el("div", "group-actions");
      var selectId = "group-topic-" + index;
      var label = el("label", "sr-only", "Topic to add this question to");
      label.htmlFor = selectId;
      var select = el("select");
      select.id = selectId;
      select.appendChild(el("option", null, "Add as a phrasing of…"));
      select.options[0].value = "";
      topics.forEach(function (t) {
        var option = el("option", null, t.key);
        option.value = t.key;
        select.appendChild(option);
      });
      var addTo = el("button", "btn btn-ghost btn-sm", "Add");
      addTo.type = "button";
      addTo.setAttribute("aria-label", "Add “" + group.text + "” as a phrasing of the chosen topic");
      addTo.addEventListener("click", function () {
        if (!select.value) { toast("Choose the topic this question belongs to.", "warn"); select.focus(); return; }
        var key = select.value;
        api("PATCH", "/api/faq/topics/" + encodeURIComponent(key), { add_phrasings: [group.text], resolves: group.ids })
          .then(function (answer) {
            if (!answer.ok) {
              toast(messagesOf(answer), "error");
              return;
            }
            toast("Added to " + key + ". Publish to make it count.", "ok");
            loadUnanswered();
            loadTopics();
          });
      });
      var asNew = el("button", "btn btn-primary btn-sm", "New topic from this");
      asNew.type = "button";
      asNew.addEventListener("click", function () {
        var seen = {};
        var phrasings = group.examples.map(function (e) { return e.text; }).filter(function (text) {
          var k = text.toLowerCase();
          if (seen[k]) return false;
          seen[k] = true;
          return true;
        });
        openAddForm({
          phrasings: phrasings, resolves: group.ids,
          source: "From " + group.count + " unanswered " + (group.count === 1 ? "question" : "questions") + ". Add a key, more ways of asking and the answer."
        });
      });
      var dismiss = el("button", "btn btn-danger-ghost btn-sm", "Dismiss");
      dismiss.type = "button";
      dismiss.setAttribute("aria-label", "Dismiss “" + group.text + "”");
      dismiss.addEventListener("click", function () {
        api("POST", "/api/faq/unanswered/dismiss", { ids: group.ids }).then(function (answer) {
          if (!answer.ok) { toast(answer.body.message || "Could not dismiss.", "error"); return; }
          toast("Dismissed " + answer.body.dismissed + (answer.body.dismissed === 1 ? " message." : " messages."), "ok");
          loadUnanswered();
        });
      });
      actions.appendChild(label);
      actions.appendChild(select);
      actions.appendChild(addTo);
      actions.appendChild(el("span", "or", "or"));
      actions.appendChild(asNew);
      actions.appendChild(dismiss);
      card.appendChild(actions);
      list.appendChild(card);
    });
  }

  $("unanswered-refresh").addEventListener("click", loadUnanswered);

  // --- validate ------------------------------------------------------------------------------

  $("validate").addEventListener("click", function () {
    var button = $("validate");
    button.disabled = true;
    $("validate-status").textContent = "Checking every topic… (Rasa's own check takes a little while)";
    clear($("validate-list"));
    api("POST", "/api/faq/validate").then(function (answer) {
      button.disabled = false;
      if (answer.status !== 200) {
        $("validate-status").textContent = answer.body.message || "Validation could not run.";
        return;
      }
      var errors = answer.body.errors || [];
      var warnings = answer.body.warnings || answer.body.messages || [];
      issuesByTopic = {};
      errors.forEach(function (issue) {
        if (issue.topic) (issuesByTopic[issue.topic] = issuesByTopic[issue.topic] || []).push(issue);
      });
      renderTopicList();
      $("validate-status").textContent = errors.length
        ? errors.length + (errors.length === 1 ? " problem" : " problems") + " to fix before publishing."
        : "Everything checks out. Ready to publish.";
      errors.concat(warnings).forEach(function (issue) {
        var item = el("li", "issue" + (errors.indexOf(issue) === -1 ? " issue-warn" : ""));
        item.appendChild(el("span", "issue-code", (issue.code || "note").replace(/_/g, " ")));
        item.appendChild(el("span", "issue-text", issue.message || String(issue)));
        if (issue.topic && topics.some(function (t) { return t.key === issue.topic; })) {
          var open = el("button", "btn btn-ghost btn-sm", "Open " + issue.topic);
          open.type = "button";
          open.addEventListener("click", function () { selectTab("topics", false); openTopic(issue.topic); });
          item.appendChild(open);
        }
        $("validate-list").appendChild(item);
      });
    });
  });

  // --- publish and rollback ------------------------------------------------------------------

  function stopPolling() { if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; } }

  function setProgress(percent, step, message) {
    $("progress").hidden = false;
    var value = Math.max(0, Math.min(100, Math.round(percent || 0)));
    $("progress-fill").style.width = value + "%";
    $("progress-bar").setAttribute("aria-valuenow", String(value));
    $("progress-percent").textContent = value + " %";
    if (step) $("progress-step").textContent = STEP_NAMES[step] || step;
    if (message) $("progress-message").textContent = message;
    var reached = true;
    Array.prototype.forEach.call(document.querySelectorAll(".steps li"), function (item) {
      var isCurrent = item.dataset.step === step;
      if (isCurrent) reached = false;
      item.className = isCurrent ? "current" : (reached && step ? "done" : "");
    });
  }

  function setBusy(job) {
    var busy = !!job;
    $("publish").disabled = busy;
    Array.prototype.forEach.call(document.querySelectorAll(".rollback-btn"), function (b) { b.disabled = busy; });
    var badge = $("publish-badge");
    badge.hidden = !busy;
    if (busy) badge.textContent = (job.kind === "rollback" ? "Rolling back" : "Publishing") + (job.actor && me && job.actor !== me.user ? " (" + job.actor + ")" : "") + "…";
  }

  function follow(jobId, after) {
    stopPolling();
    api("GET", "/api/faq/jobs/" + encodeURIComponent(jobId) + "?after=" + after).then(function (answer) {
      if (!answer.ok) { setBusy(null); return; }
      var job = answer.body;
      setBusy(job.state === "running" ? job : null);
      job.events.forEach(function (event) {
        if (event.event === "progress") setProgress(event.percent, event.step, event.message);
      });
      if (job.state === "running") {
        pollTimer = setTimeout(function () { follow(jobId, job.next); }, 700);
        return;
      }
      showResult(job);
      loadHistory();
    });
  }

  function showResult(job) {
    var result = job.result || {};
    var box = $("publish-result");
    clear(box);
    box.hidden = false;
    box.className = "result " + (result.ok ? "result-ok" : "result-bad");
    var what = job.kind === "rollback" ? "Rollback" : "Publish";
    if (result.ok) {
      setProgress(100, "swap", "Done.");
      Array.prototype.forEach.call(document.querySelectorAll(".steps li"), function (item) { item.className = "done"; });
      box.appendChild(el("p", "result-title", what + " done" + (result.seconds ? " in " + Math.round(result.seconds) + " s" : "") + "."));
      box.appendChild(el("p", null, "Live model: " + (result.live_model || result.model || "unknown")));
      return;
    }
    box.appendChild(el("p", "result-title", what + " stopped. The live assistant was not changed."));
    (result.errors || []).forEach(function (error) { box.appendChild(el("p", null, error.message || String(error))); });
    if (result.worse_topics && result.worse_topics.length) {
      box.appendChild(el("p", null, "Topics that got worse with the new model:"));
      var list = el("ul", "worse");
      result.worse_topics.forEach(function (w) {
        list.appendChild(el("li", null, w.topic + ": " + w.before + " → " + w.after));
      });
      box.appendChild(list);
    }
  }

  function startJob(kind) {
    $("publish-result").hidden = true;
    setProgress(0, "validate", kind === "rollback" ? "Starting the rollback…" : "Starting…");
    api("POST", "/api/faq/" + kind).then(function (answer) {
      if (!answer.ok) {
        $("progress").hidden = true;
        var box = $("publish-result");
        clear(box);
        box.hidden = false;
        box.className = "result result-bad";
        box.appendChild(el("p", "result-title", answer.body.message || "Could not start."));
        if (answer.body.job) follow(answer.body.job.id, 0);
        return;
      }
      setBusy({ kind: kind, actor: me.user });
      follow(answer.body.job, 0);
    });
  }

  $("publish").addEventListener("click", function () { startJob("publish"); });

  function checkRunningJob() {
    api("GET", "/api/faq/jobs/current").then(function (answer) {
      if (answer.ok && answer.body.job && answer.body.job.state === "running") follow(answer.body.job.id, 0);
    });
  }

  function loadHistory() {
    api("GET", "/api/faq/history").then(function (answer) {
      var body = $("history-body");
      clear(body);
      if (!answer.ok) { toast(answer.body.message || "Could not load the history.", "error"); return; }
      var entries = (answer.body.history || []).slice().reverse();
      $("history-empty").hidden = entries.length > 0;
      $("history-table").hidden = entries.length === 0;
      entries.forEach(function (entry, index) {
        var row = el("tr");
        row.appendChild(el("td", "nowrap", when(entry.at)));
        var what = el("td");
        what.appendChild(el("span", "status" + (entry.action === "rollback" ? " status-warn" : ""), entry.action));
        if (index === 0) what.appendChild(el("span", "status status-live", "live"));
        row.appendChild(what);
        row.appendChild(el("td", null, entry.actor));
        row.appendChild(el("td", "mono", entry.model));
        var details = [];
        if (entry.seconds) details.push(Math.round(entry.seconds) + " s");
        if (entry.heldout_accuracy !== undefined) details.push("held-out " + entry.heldout_accuracy + " %");
        if (entry.previous_model) details.push("before: " + entry.previous_model);
        row.appendChild(el("td", "muted small", details.join(" · ")));
        var actions = el("td");
        if (index === 0 && entry.action === "publish" && entry.previous_model) {
          var rollback = el("button", "btn btn-danger-ghost btn-sm rollback-btn", "Roll back");
          rollback.type = "button";
          rollback.setAttribute("aria-label", "Roll back to " + entry.previous_model);
          rollback.addEventListener("click", function () {
            confirmDialog("Roll back?", "The model that was live before, " + entry.previous_model + ", goes live again with its answers.", "Roll back", true)
              .then(function (yes) { if (yes) startJob("rollback"); });
          });
          actions.appendChild(rollback);
        }
        row.appendChild(actions);
        body.appendChild(row);
      });
    });
  }

  $("history-refresh").addEventListener("click", loadHistory);

  // --- audit log -----------------------------------------------------------------------------

  function loadAudit() {
    api("GET", "/api/faq/audit?limit=500").then(function (answer) {
      if (!answer.ok) { toast(answer.body.message || "Could not load the audit log.", "error"); return; }
      auditEntries = answer.body.entries || [];
      renderAudit();
    });
  }

  function describe(details) {
    if (!details || typeof details !== "object") return "";
    return Object.keys(details).map(function (k) {
      var v = details[k];
      if (Array.isArray(v)) v = v.map(function (x) { return typeof x === "object" ? (x.message || JSON.stringify(x)) : x; }).join("; ");
      else if (v && typeof v === "object") v = JSON.stringify(v);
      return k.replace(/_/g, " ") + ": " + v;
    }).join(" · ");
  }

  function renderAudit() {
    var query = $("audit-filter").value.trim().toLowerCase();
    var body = $("audit-body");
    clear(body);
    var shown = auditEntries.filter(function (e) {
      return !query || [e.actor, e.action, e.topic].join(" ").toLowerCase().indexOf(query) !== -1;
    });
    shown.forEach(function (entry) {
      var row = el("tr");
      row.appendChild(el("td", "nowrap", when(entry.at)));
      row.appendChild(el("td", null, entry.actor));
      row.appendChild(el("td", null, entry.action));
      row.appendChild(el("td", "mono", entry.topic || "—"));
      row.appendChild(el("td", "audit-details", describe(entry.details)));
      body.appendChild(row);
    });
    $("audit-empty").hidden = shown.length > 0;
    $("audit-table").hidden = shown.length === 0;
  }

  $("audit-filter").addEventListener("input", renderAudit);
  $("audit-refresh").addEventListener("click", loadAudit);

  // --- start ---------------------------------------------------------------------------------

  api("GET", "/api/me").then(function (answer) {
    if (answer.ok) start(answer.body);
    else showLogin();
  });
})();
