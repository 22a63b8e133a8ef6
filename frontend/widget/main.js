// @ts-nocheck -- not yet ported to modules
/* Harbor Assist chat widget.
 *
 * One tag adds the chat to a page:
 *   <script src="https://host/widget.js" data-title="…" data-color="#0b5d6b"
 *           data-greeting="…" defer></script>
 *
 * Protocol: docs/protocol.md (customer websocket, v1). Plain ES2017, no dependencies.
 * Every piece of text from the network is rendered with textContent, never as HTML.
 */
(function () {
  "use strict";
  if (window.__harborAssistLoaded) return;
  window.__harborAssistLoaded = true;

  var script = document.currentScript ||
    document.querySelector('script[src*="widget.js"]');
  var base = new URL(script.src, location.href);
  var cfg = {
    title: script.getAttribute("data-title") || "Chat with us",
    color: script.getAttribute("data-color") || "#0b5d6b",
    greeting: script.getAttribute("data-greeting") ||
      "Hi! Ask us about orders, shipping or returns.",
  };
  var STORE = "harbor-assist:" + base.host;
  var MAX_CACHED = 300;
  var BACKOFF_MIN = 500;
  var BACKOFF_MAX = 10000;

  // --- colour ----------------------------------------------------------------------------
  // The brand colour carries white text (header, launcher, the customer's bubbles), so it must
  // reach WCAG AA (4.5:1) against white: a lighter colour is darkened until it does.
  function luminance(rgb) {
    var c = rgb.map(function (v) {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function readableColor(value) {
    var m = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value).trim());
    if (!m) return "#0b5d6b";
    var hex = m[1].length === 3 ? m[1].replace(/(.)/g, "$1$1") : m[1];
    var rgb = [0, 2, 4].map(function (i) { return parseInt(hex.substr(i, 2), 16); });
    for (var step = 0; step < 40 && 1.05 / (luminance(rgb) + 0.05) < 4.5; step++) {
      rgb = rgb.map(function (v) { return Math.floor(v * 0.92); });
    }
    return "#" + rgb.map(function (v) { return (v < 16 ? "0" : "") + v.toString(16); }).join("");
  }

  // --- persisted state ----------------------------------------------------------------------
  // The resume token and the transcript cache live in the tab's sessionStorage: a reload or the
  // next page of the shop in the same tab resumes the chat, and closing the tab forgets it.
  // They used to sit in localStorage for days, on disk and open to every script of every later
  // visit; a third-party script on the page can still read them while the tab is open, which
  // only a frame on our own origin would prevent (docs/widget.md, "Reloads and network drops").
  var saved = load();
  function load() {
    try { localStorage.removeItem(STORE); } catch (e) { /* storage disabled */ }
    try {
      var value = JSON.parse(sessionStorage.getItem(STORE) || "{}");
      return value && typeof value === "object" ? value : {};
    } catch (e) { return {}; }
  }
  function save() {
    try { sessionStorage.setItem(STORE, JSON.stringify(saved)); } catch (e) { /* private mode */ }
  }
  saved.entries = Array.isArray(saved.entries) ? saved.entries : [];

  // --- runtime state ------------------------------------------------------------------------
  var ws = null;
  var connected = false;
  var everConnected = false;
  var backoff = BACKOFF_MIN;
  var retryTimer = null;
  var rendered = {};       // entry id -> true
  var renderedClient = {}; // client id -> element (confirmed or optimistic)
  var pending = {};        // client id -> {text, el}
  var state = "bot";
  var agentName = "";
  var maxChars = 2000;
  var typingTimer = null;
  var typingSent = false;
  var typingIdle = null;
  var opened = false;
  var lastQuick = null;

  // --- DOM helpers --------------------------------------------------------------------------
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function attrs(node, map) {
    Object.keys(map).forEach(function (k) { node.setAttribute(k, map[k]); });
    return node;
  }
  var SVG = "http://www.w3.org/2000/svg";
  function icon(paths) {
    var svg = document.createElementNS(SVG, "svg");
    attrs(svg, { viewBox: "0 0 24 24", width: "24", height: "24", "aria-hidden": "true",
      focusable: "false" });
    paths.forEach(function (d) {
      var p = document.createElementNS(SVG, "path");
      p.setAttribute("d", d);
      svg.appendChild(p);
    });
    return svg;
  }
  var uid = 0;
  function newId(prefix) {
    uid += 1;
    return prefix + Date.now().toString(36) + uid.toString(36) +
      Math.random().toString(36).slice(2, 8);
  }

  // The widget lives in a shadow root on a host element of its own: the shop's rules
  // (`button {…}`, `p {…}`) cannot reach inside, and the widget's styles cannot leak out.
  // Open mode, so the shop's tools (and tests) can inspect it; nothing secret is in the DOM.
  var host = document.createElement("div");
  host.className = "harbor-assist";
  var shadow = host.attachShadow({ mode: "open" });
  // Styles: loaded from the script's own origin, into the shadow root.
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = new URL("/static/widget.css", base).href;
  shadow.appendChild(css);

  // --- build the widget ---------------------------------------------------------------------
  var root = el("div", "ha-root");
  root.style.setProperty("--ha-color", readableColor(cfg.color));
  root.setAttribute("data-state", "closed");

  var panelId = newId("ha-panel-");
  var titleId = panelId + "-title";
  var launcher = attrs(el("button", "ha-launcher"), {
    type: "button", "aria-expanded": "false", "aria-controls": panelId,
    "aria-label": "Open chat: " + cfg.title,
  });
  var chatIcon = icon(["M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"]);
  chatIcon.classList.add("ha-icon-chat");
  var closeIcon = icon(["M6 6l12 12M18 6L6 18"]);
  closeIcon.classList.add("ha-icon-close");
  var badge = attrs(el("span", "ha-badge"), { "aria-hidden": "true" });
  launcher.appendChild(chatIcon);
  launcher.appendChild(closeIcon);
  launcher.appendChild(badge);

  var panel = attrs(el("section", "ha-panel"), {
    id: panelId, role: "dialog", "aria-labelledby": titleId, "aria-modal": "false",
  });
  panel.hidden = true;

  // Not a <header>: inside the shop page it would be a second banner landmark beside the shop's.
  var header = el("div", "ha-header");
  var heading = el("div", "ha-heading");
  var title = attrs(el("h2", "ha-title", cfg.title), { id: titleId });
  var status = el("p", "ha-status", "Assistant · usually replies instantly");
  heading.appendChild(title);
  heading.appendChild(status);
  var closeBtn = attrs(el("button", "ha-close"), { type: "button", "aria-label": "Close chat" });
  closeBtn.appendChild(icon(["M6 6l12 12M18 6L6 18"]));
  header.appendChild(heading);
  header.appendChild(closeBtn);

  var conn = attrs(el("div", "ha-conn"), { role: "status" });
  var connText = el("span", "ha-conn-text", "Reconnecting…");
  var connRetry = attrs(el("button", "ha-conn-retry", "Retry now"), { type: "button" });
  conn.appendChild(connText);
  conn.appendChild(connRetry);
  conn.hidden = true;

  var logEl = attrs(el("div", "ha-log"), {
    role: "log", "aria-live": "polite", "aria-label": "Chat messages", tabindex: "0",
  });
  var greeting = el("div", "ha-msg ha-from-bot ha-greeting");
  greeting.appendChild(el("p", "ha-bubble", cfg.greeting));
  logEl.appendChild(greeting);

  var typing = attrs(el("div", "ha-typing"), { role: "status" });
  var typingText = el("span", "ha-typing-text");
  var dots = attrs(el("span", "ha-dots"), { "aria-hidden": "true" });
  dots.appendChild(el("span")); dots.appendChild(el("span")); dots.appendChild(el("span"));
  typing.appendChild(dots);
  typing.appendChild(typingText);
  typing.hidden = true;

  var queueBox = attrs(el("div", "ha-queue"), { role: "status" });
  var queueText = el("p", "ha-queue-text", "");
  var queueWait = el("p", "ha-queue-wait", "");
  var leaveQueue = attrs(el("button", "ha-link-btn", "Leave the queue"), { type: "button" });
  queueBox.appendChild(queueText);
  queueBox.appendChild(queueWait);
  queueBox.appendChild(leaveQueue);
  queueBox.hidden = true;

  var notice = attrs(el("div", "ha-notice"), { role: "alert" });
  notice.hidden = true;

  var composer = el("form", "ha-composer");
  composer.noValidate = true;
  var inputId = panelId + "-input";
  var inputLabel = attrs(el("label", "ha-sr", "Type your message"), { for: inputId });
  var input = attrs(el("textarea", "ha-input"), {
    id: inputId, rows: "1", placeholder: "Type your message…", autocomplete: "off",
    maxlength: String(maxChars),
  });
  var send = attrs(el("button", "ha-send"), { type: "submit", "aria-label": "Send message" });
  send.appendChild(icon(["M3 20l18-8L3 4v6l12 2-12 2z"]));
  composer.appendChild(inputLabel);
  composer.appendChild(input);
  composer.appendChild(send);

  var newChat = attrs(el("button", "ha-newchat", "Start a new chat"), { type: "button" });
  newChat.hidden = true;

  panel.appendChild(header);
  panel.appendChild(conn);
  panel.appendChild(logEl);
  panel.appendChild(typing);
  panel.appendChild(queueBox);
  panel.appendChild(notice);
  panel.appendChild(composer);
  panel.appendChild(newChat);
  root.appendChild(panel);
  root.appendChild(launcher);

  shadow.appendChild(root);
  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  // --- open / close -------------------------------------------------------------------------
  function openPanel() {
    if (opened) return;
    opened = true;
    panel.hidden = false;
    root.setAttribute("data-state", "open");
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close chat");
    badge.classList.remove("ha-show");
    saved.open = true; save();
    ensureConnected();
    scrollDown();
    setTimeout(function () {
      if (!input.disabled) input.focus(); else closeBtn.focus();
    }, 0);
  }
  function closePanel() {
    if (!opened) return;
    opened = false;
    panel.hidden = true;
    root.setAttribute("data-state", "closed");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open chat: " + cfg.title);
    saved.open = false; save();
    launcher.focus();
  }
  launcher.addEventListener("click", function () { if (opened) closePanel(); else openPanel(); });
  closeBtn.addEventListener("click", closePanel);
  root.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && opened) { ev.preventDefault(); closePanel(); }
  });

  // --- rendering ----------------------------------------------------------------------------
  function scrollDown() { logEl.scrollTop = logEl.scrollHeight; }
  function clock(ms) {
    var d = new Date(ms || Date.now());
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  function system(text, cls) {
    var line = el("div", "ha-system" + (cls ? " " + cls : ""), text);
    logEl.appendChild(line);
    scrollDown();
    return line;
  }
  function bubble(from, text, at, who) {
    var row = el("div", "ha-msg ha-from-" + from);
    if (who) row.appendChild(el("span", "ha-who", who));
    row.appendChild(el("p", "ha-bubble", text));
    var meta = el("span", "ha-meta", clock(at));
    row.appendChild(meta);
    return row;
  }
  function removeQuickReplies() {
    if (lastQuick && lastQuick.parentNode) lastQuick.parentNode.removeChild(lastQuick);
    lastQuick = null;
  }

  function remember(frame) {
    saved.entries.push(frame);
    if (saved.entries.length > MAX_CACHED) saved.entries.splice(0, saved.entries.length - MAX_CACHED);
    saved.last_seen = frame.id;
    save();
  }

  function render(frame, replaying) {
    if (!frame || !frame.id || rendered[frame.id]) return;
    rendered[frame.id] = true;
    if (!replaying) remember(frame);
    if (frame.kind === "message") renderMessage(frame, replaying);
    else renderEvent(frame, replaying);
    if (!replaying && !opened && frame.from !== "customer") badge.classList.add("ha-show");
    scrollDown();
  }

  function renderMessage(frame, replaying) {
    if (frame.from === "customer") {
      removeQuickReplies();
      var cid = frame.client_id;
      if (cid && renderedClient[cid]) {
        // Our optimistic bubble: confirm it.
        var node = renderedClient[cid];
        node.classList.remove("ha-pending", "ha-failed");
        node.setAttribute("data-id", frame.id);
        var meta = node.querySelector(".ha-meta");
        if (meta) meta.textContent = clock(frame.at);
        delete pending[cid];
        return;
      }
      var row = bubble("customer", frame.text, frame.at);
      row.setAttribute("data-id", frame.id);
      if (cid) renderedClient[cid] = row;
      logEl.appendChild(row);
      return;
    }
    if (frame.from === "agent") {
      var name = frame.agent_name || "Agent";
      if (name !== agentName) {
        agentName = name;
        system("You are now chatting with " + name, "ha-system-agent");
        if (state === "assigned") status.textContent = "Chatting with " + name;
      }
      setTyping(false);
      var agentRow = bubble("agent", frame.text, frame.at, name);
      agentRow.setAttribute("data-id", frame.id);
      logEl.appendChild(agentRow);
      return;
    }
    setTyping(false);
    var botRow = bubble("bot", frame.text, frame.at, frame.from === "bot" ? "Assistant" : "");
    botRow.setAttribute("data-id", frame.id);
    logEl.appendChild(botRow);
    if (Array.isArray(frame.buttons) && frame.buttons.length) {
      removeQuickReplies();
      var group = attrs(el("div", "ha-quick"), { role: "group", "aria-label": "Suggested replies" });
      frame.buttons.forEach(function (b) {
        if (!b || typeof b.title !== "string") return;
        var btn = attrs(el("button", "ha-quick-btn", b.title), { type: "button" });
        btn.addEventListener("click", function () {
          sendText(String(b.payload || b.title), b.title);
          input.focus();  // the buttons are gone now: keep the keyboard where the chat goes on
        });
        group.appendChild(btn);
      });
      logEl.appendChild(group);
      lastQuick = group;
    }
  }

  function renderEvent(frame, replaying) {
    var kind = frame.event;
    if (kind === "state") {
      if (frame.state === "assigned") {
        var name = frame.agent_name || (frame.data && frame.data.agent_name) || "an agent";
        agentName = name;
        setState(frame.state, frame);
        system("You are now chatting with " + name, "ha-system-agent");
        return;
      }
      setState(frame.state, frame);
      if (frame.state === "bot") {
        agentName = "";
        var text = frame.text || "";
        system(/back with the assistant/i.test(text) ? text : "You're back with the assistant",
          "ha-system-bot");
        return;
      }
      if (frame.state === "closed") {
        system(frame.text || "This chat has ended.", "ha-system-end");
        var ratingForm = showRating();
        if (!replaying) focusInside(ratingForm.querySelector("input"));
        return;
      }
      if (frame.text) system(frame.text);
      return;
    }
    if (kind === "offer_leave_message") {
      if (frame.text) system(frame.text);
      var leaveForm = showLeaveMessage();
      if (!replaying) focusInside(leaveForm.querySelector("input"));
      return;
    }
    if (kind === "ticket_created") {
      var hadFocus = focusWithin("ha-leave");
      removeExtra("ha-leave");
      system(frame.text || "Thanks, your message is with our team.", "ha-system-ok");
      if (hadFocus) input.focus();
      return;
    }
    if (kind === "rated") {
      var rated = focusWithin("ha-rating");
      removeExtra("ha-rating");
      system(frame.text || "Thanks for your feedback!", "ha-system-ok");
      var link = panel.querySelector(".ha-download-standalone");
      if (rated && link) link.focus();
      return;
    }
    if (kind === "started") return;
    if (frame.text) system(frame.text);
  }

  // Move focus into a new form only when the customer is in the chat panel (never steal it
  // from the host page).
  // Inside the shadow root the page's document.activeElement is the host; the shadow root
  // knows which of the widget's elements has focus.
  function focusInside(node) {
    if (!node || !opened) return;
    var inWidget = shadow.activeElement;
    var onPage = document.activeElement;
    if (inWidget ? panel.contains(inWidget) : !onPage || onPage === document.body) node.focus();
  }
  function focusWithin(cls) {
    var active = shadow.activeElement;
    return !!(active && active.closest && active.closest("." + cls));
  }

  function removeExtra(cls) {
    var nodes = logEl.querySelectorAll("." + cls);
    for (var i = 0; i < nodes.length; i++) nodes[i].parentNode.removeChild(nodes[i]);
  }

  function setState(next, frame) {
    state = next || state;
    root.setAttribute("data-chat-state", state);
    if (state !== "queued") queueBox.hidden = true;
    if (state === "queued") {
      status.textContent = "Waiting for a person";
      queueBox.hidden = false;
      if (!queueText.textContent) queueText.textContent = "You're in the queue for a person.";
      removeExtra("ha-leave");
    } else if (state === "assigned") {
      status.textContent = agentName ? "Chatting with " + agentName : "Chatting with an agent";
    } else if (state === "closed") {
      status.textContent = "Chat ended";
    } else {
      status.textContent = "Assistant · usually replies instantly";
    }
    var closed = state === "closed";
    input.disabled = closed;
    send.disabled = closed;
    composer.hidden = closed;
    newChat.hidden = !closed;
    if (!closed) removeExtra("ha-rating");
    void frame;
  }

  function showLeaveMessage() {
    removeExtra("ha-leave");
    var form = el("form", "ha-card ha-leave");
    form.noValidate = true;
    form.appendChild(el("p", "ha-card-title", "Leave us a message"));
    var emailId = newId("ha-email-");
    var textId = newId("ha-lm-");
    form.appendChild(attrs(el("label", "ha-label", "Your email"), { for: emailId }));
    var email = attrs(el("input", "ha-field"), {
      id: emailId, type: "email", autocomplete: "email", required: "",
    });
    form.appendChild(email);
    var emailError = fieldError(email);
    form.appendChild(emailError);
    form.appendChild(attrs(el("label", "ha-label", "Message"), { for: textId }));
    var text = attrs(el("textarea", "ha-field"), { id: textId, rows: "3", required: "",
      maxlength: String(maxChars) });
    form.appendChild(text);
    var textError = fieldError(text);
    form.appendChild(textError);
    var btn = attrs(el("button", "ha-primary", "Leave message"), { type: "submit" });
    form.appendChild(btn);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var emailOk = /^[^@\s]+@[^@\s]+\.[^@\s]{2,}$/.test(email.value.trim());
      var textOk = !!text.value.trim();
      markField(email, emailError, emailOk ? "" : "Please enter a valid email address.");
      markField(text, textError, textOk ? "" : "Please write a message.");
      if (btn.scrollIntoView) btn.scrollIntoView({ block: "nearest" });  // errors made it taller
      if (!emailOk) { email.focus(); return; }
      if (!textOk) { text.focus(); return; }
      transmit({ type: "leave_message", email: email.value.trim(), text: text.value.trim() });
      btn.disabled = true;
      btn.textContent = "Sending…";
    });
    logEl.appendChild(form);
    return form;
  }

  // A field's own error line, tied to it with aria-describedby and announced when it appears.
  function fieldError(field) {
    var node = attrs(el("p", "ha-field-error"), { id: field.id + "-error", role: "alert" });
    node.hidden = true;
    field.setAttribute("aria-describedby", node.id);
    return node;
  }
  function markField(field, errorNode, message) {
    errorNode.textContent = message;
    errorNode.hidden = !message;
    if (message) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }

  function showRating() {
    removeExtra("ha-rating");
    var form = el("form", "ha-card ha-rating");
    var fs = el("fieldset", "ha-stars");
    fs.appendChild(el("legend", "ha-card-title", "How did we do?"));
    var group = newId("ha-star-");
    var labels = [];
    for (var i = 1; i <= 5; i++) {
      var id = group + "-" + i;
      var radio = attrs(el("input", "ha-star-input"), { type: "radio", name: group, value: String(i), id: id });
      var label = attrs(el("label", "ha-star"), { for: id });
      label.appendChild(attrs(el("span", "ha-star-glyph", "★"), { "aria-hidden": "true" }));
      label.appendChild(el("span", "ha-sr", i + (i === 1 ? " star" : " stars")));
      fs.appendChild(radio);
      fs.appendChild(label);
      labels.push(label);
    }
    fs.addEventListener("change", function (ev) {
      var value = Number(ev.target.value);
      labels.forEach(function (l, idx) { l.classList.toggle("ha-on", idx < value); });
    });
    form.appendChild(fs);
    var commentId = newId("ha-comment-");
    form.appendChild(attrs(el("label", "ha-label", "Comment (optional)"), { for: commentId }));
    var comment = attrs(el("textarea", "ha-field"), { id: commentId, rows: "2", maxlength: String(maxChars) });
    form.appendChild(comment);
    var actions = el("div", "ha-card-actions");
    var btn = attrs(el("button", "ha-primary", "Send rating"), { type: "submit" });
    actions.appendChild(btn);
    form.appendChild(actions);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var checked = form.querySelector(".ha-star-input:checked");
      if (!checked) { showNotice("Please choose 1 to 5 stars."); fs.querySelector("input").focus(); return; }
      var frame = { type: "rating", score: Number(checked.value) };
      if (comment.value.trim()) frame.comment = comment.value.trim();
      transmit(frame);
      btn.disabled = true;
      btn.textContent = "Sending…";
    });
    logEl.appendChild(form);
    // After a rating, keep the transcript link available.
    if (!logEl.querySelector(".ha-download-standalone")) {
      var link = attrs(el("a", "ha-download ha-download-standalone", "Download transcript"),
        { href: "#" });
      link.addEventListener("click", function (ev) { ev.preventDefault(); downloadTranscript(); });
      newChat.parentNode.insertBefore(link, newChat);
    }
    return form;
  }

  function downloadTranscript() {
    if (!saved.token) return;
    fetch(new URL("/api/transcript", base).href, {
      headers: { Authorization: "Bearer " + saved.token },
    }).then(function (res) {
      if (!res.ok) throw new Error("status " + res.status);
      return res.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var a = el("a");
      a.href = url;
      a.download = "harbor-chat-transcript.txt";
      document.body.appendChild(a);
      a.click();
      document.body.removeChild(a);
      setTimeout(function () { URL.revokeObjectURL(url); }, 2000);
    }).catch(function () {
      showNotice("The transcript couldn't be downloaded. Please try again.");
    });
  }

  var noticeTimer = null;
  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { notice.hidden = true; }, 8000);
  }

  var typingFailsafe = null;
  function setTyping(on, from) {
    clearTimeout(typingFailsafe);
    if (!on) { typing.hidden = true; return; }
    typingText.textContent = (from === "agent" ? (agentName || "Agent") : "Assistant") + " is typing…";
    typing.hidden = false;
    typingFailsafe = setTimeout(function () { typing.hidden = true; }, 15000);
  }

  function formatWait(seconds) {
    if (!seconds || seconds < 60) return "less than a minute";
    var minutes = Math.round(seconds / 60);
    return "about " + minutes + (minutes === 1 ? " minute" : " minutes");
  }

  // --- sending ------------------------------------------------------------------------------
  var outbox = [];
  function transmit(frame) {
    if (ws && connected) ws.send(JSON.stringify(frame));
    else if (frame.type !== "typing") outbox.push(frame);
  }

  function sendText(text, shownText) {
    text = String(text).trim();
    if (!text) return;
    if (text.length > maxChars) {
      showNotice("Messages can be at most " + maxChars + " characters.");
      return;
    }
    removeQuickReplies();
    var id = newId("c");
    var row = bubble("customer", shownText || text, Date.now());
    row.classList.add("ha-pending");
    row.setAttribute("data-client-id", id);
    logEl.appendChild(row);
    renderedClient[id] = row;
    pending[id] = { text: text };
    scrollDown();
    stopTyping();
    transmit({ type: "message", id: id, text: text });
    ensureConnected();
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSent) { typingSent = false; transmit({ type: "typing", on: false }); }
  }

  composer.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    autosize();
    sendText(text);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      composer.requestSubmit ? composer.requestSubmit() : composer.dispatchEvent(new Event("submit"));
    }
  });
  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }
  input.addEventListener("input", function () {
    autosize();
    if (!input.value.trim()) { stopTyping(); return; }
    if (!typingSent) { typingSent = true; transmit({ type: "typing", on: true }); }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 2500);
  });
  leaveQueue.addEventListener("click", function () { transmit({ type: "cancel_queue" }); });
  newChat.addEventListener("click", function () {
    resetConversation();
    var old = ws;
    ws = null;
    connected = false;
    if (old) { old.onclose = null; try { old.close(); } catch (e) { /* already closing */ } }
    connect();
    input.focus();
  });

  function resetConversation() {
    saved = { open: opened, entries: [] };
    save();
    rendered = {}; renderedClient = {}; pending = {}; agentName = "";
    while (logEl.firstChild) logEl.removeChild(logEl.firstChild);
    logEl.appendChild(greeting);
    var standalone = panel.querySelector(".ha-download-standalone");
    if (standalone) standalone.parentNode.removeChild(standalone);
    setState("bot");
  }

  // --- connection ---------------------------------------------------------------------------
  // The socket is re-opened with exponential backoff (0.5 s doubling to 10 s, with jitter) and
  // at once when the browser comes back online. A ping every 25 s without a pong within 10 s
  // counts as a dead connection (a dropped network often leaves the socket looking open).
  var PING_EVERY = 25000;
  var PONG_WITHIN = 10000;
  var pingTimer = null;
  var pongTimer = null;
  var countdown = null;

  function ensureConnected() {
    if (ws || retryTimer) return;
    connect();
  }

  function connect() {
    clearTimeout(retryTimer);
    clearInterval(countdown);
    retryTimer = null;
    var url = (base.protocol === "https:" ? "wss:" : "ws:") + "//" + base.host + "/ws/customer";
    var socket;
    try { socket = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    ws = socket;
    socket.onopen = function () {
      socket.send(JSON.stringify({
        type: "hello", v: 1, token: saved.token || null, last_seen: saved.last_seen || null,
      }));
    };
    socket.onmessage = function (ev) {
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (frame && typeof frame === "object") onFrame(frame);
    };
    socket.onclose = function (ev) { dropped(socket, ev.code); };
    socket.onerror = function () { /* onclose follows */ };
  }

  function dropped(socket, code) {
    if (ws !== socket) return;
    ws = null;
    connected = false;
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    if (code === 4401) { resetConversation(); backoff = BACKOFF_MIN; }
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (retryTimer) return;
    var delay = backoff * (0.5 + Math.random() * 0.5);
    root.setAttribute("data-backoff", String(backoff));
    backoff = Math.min(backoff * 2, BACKOFF_MAX);
    retryTimer = setTimeout(connect, delay);
    showOffline(delay);
  }

  function showOffline(delay) {
    if (!everConnected && !saved.token) return;
    var offline = navigator.onLine === false;
    var due = Date.now() + delay;
    function tick() {
      var seconds = Math.max(1, Math.ceil((due - Date.now()) / 1000));
      connText.textContent = offline
        ? "You're offline. Reconnecting in " + seconds + " s…"
        : "Connection lost. Reconnecting in " + seconds + " s…";
    }
    tick();
    clearInterval(countdown);
    countdown = setInterval(tick, 1000);
    root.setAttribute("data-connection", offline ? "offline" : "reconnecting");
    conn.hidden = false;
  }

  function showConnected() {
    clearInterval(countdown);
    conn.hidden = true;
    root.setAttribute("data-connection", "online");
  }

  function startPinging(socket) {
    clearInterval(pingTimer);
    pingTimer = setInterval(function () {
      if (ws !== socket) return;
      socket.send(JSON.stringify({ type: "ping" }));
      clearTimeout(pongTimer);
      pongTimer = setTimeout(function () { giveUp(socket); }, PONG_WITHIN);
    }, PING_EVERY);
  }

  function giveUp(socket) {
    // Stop listening to a socket we no longer trust and start over from last_seen.
    if (ws !== socket) return;
    socket.onclose = null;
    try { socket.close(); } catch (e) { /* already closing */ }
    dropped(socket, 1006);
  }

  connRetry.addEventListener("click", function () {
    if (ws) return;
    backoff = BACKOFF_MIN;
    connect();
  });
  window.addEventListener("online", function () {
    backoff = BACKOFF_MIN;
    if (!ws && retryTimer) connect();
  });
  window.addEventListener("offline", function () {
    if (ws) giveUp(ws);
  });

  function onFrame(frame) {
    switch (frame.type) {
      case "welcome":
        if (saved.conversation && frame.conversation !== saved.conversation) resetConversation();
        saved.token = frame.token;
        saved.conversation = frame.conversation;
        save();
        if (frame.max_message_chars) {
          maxChars = frame.max_message_chars;
          input.setAttribute("maxlength", String(maxChars));
        }
        connected = true;
        everConnected = true;
        backoff = BACKOFF_MIN;
        showConnected();
        startPinging(ws);
        if (frame.state && frame.state !== state) setState(frame.state);
        // Resend what was not confirmed (the server stores each client id once), then the rest.
        Object.keys(pending).forEach(function (id) {
          ws.send(JSON.stringify({ type: "message", id: id, text: pending[id].text }));
        });
        var queued = outbox.splice(0);
        queued.forEach(function (f) {
          if (f.type === "message" && !pending[f.id]) return;
          if (f.type === "message") return; // already resent above
          ws.send(JSON.stringify(f));
        });
        break;
      case "event":
        render(frame, false);
        break;
      case "pong":
        clearTimeout(pongTimer);
        break;
      case "ack":
        if (renderedClient[frame.id]) renderedClient[frame.id].classList.remove("ha-pending");
        break;
      case "typing":
        setTyping(!!frame.on, frame.from);
        break;
      case "queue":
        queueText.textContent = frame.position === 1
          ? "You're next in line for a person."
          : "You're number " + frame.position + " in line for a person.";
        queueWait.textContent = "Estimated wait: " + formatWait(frame.estimate_seconds);
        if (state === "queued") queueBox.hidden = false;
        break;
      case "error":
        if (frame.code === "token_refused") { resetConversation(); return; }
        if (frame.id && renderedClient[frame.id]) {
          renderedClient[frame.id].classList.remove("ha-pending");
          renderedClient[frame.id].classList.add("ha-failed");
          delete pending[frame.id];
        }
        var buttons = logEl.querySelectorAll(".ha-card button[disabled]");
        for (var i = 0; i < buttons.length; i++) {
          buttons[i].disabled = false;
          buttons[i].textContent = buttons[i].closest(".ha-rating") ? "Send rating" : "Leave message";
        }
        showNotice(frame.message || "Something went wrong.");
        break;
      default:
        break;
    }
  }

  // --- start --------------------------------------------------------------------------------
  saved.entries.slice().forEach(function (frame) { render(frame, true); });
  if (saved.token) {
    connect();
    if (saved.open) {
      if (document.body) openPanel();
      else document.addEventListener("DOMContentLoaded", openPanel);
    }
  }
})();
