// @ts-nocheck -- not yet ported to modules
/* Harbor Assist agent console. Plain ES2017; protocol in docs/protocol.md ("Agent websocket").
 * All text from the network is rendered with textContent. */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  var seq = 0;
  function newId() {
    seq += 1;
    return Date.now().toString(36) + seq.toString(36) + Math.random().toString(36).slice(2, 8);
  }

  var me = null;          // {user, display_name, csrf, teams, capacity}
  var ws = null;
  var backoff = 500;
  var retry = null;
  var presence = "offline";
  var capacity = 0;
  var queues = {};        // team -> {items, at}
  var active = [];        // my assigned conversation ids
  var convs = {};         // cid -> {entries: [], ids: {}, packet, state, loaded, typing}
  var selected = null;
  var helloSeen = false;  // the current socket has greeted us (presence known)
  var typingSent = false;
  var typingIdle = null;

  // --- HTTP ---------------------------------------------------------------------------------
  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET" && me) headers["X-CSRF-Token"] = me.csrf;
    return fetch(path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var err = new Error(data.message || data.error || ("Request failed (" + res.status + ")"));
          err.status = res.status;
          throw err;
        }
        return data;
      });
    });
  }

  // --- login / logout -----------------------------------------------------------------------
  $("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var error = $("login-error");
    error.hidden = true;
    var username = $("login-user").value.trim();
    var password = $("login-pass").value;
    if (!username || !password) {
      error.textContent = "Enter your username and password.";
      error.hidden = false;
      return;
    }
    api("POST", "/api/login", { username: username, password: password }).then(function (data) {
      $("login-pass").value = "";
      start(data);
    }).catch(function (err) {
      error.textContent = err.message || "Sign-in failed.";
      error.hidden = false;
      $("login-pass").focus();
    });
  });

  $("logout").addEventListener("click", function () {
    api("POST", "/api/logout", {}).catch(function () {}).then(function () { stop(); });
  });

  var ROLE_NAMES = { agent: "Agent", editor: "FAQ editor", admin: "Admin" };
  // What each role sees: agents and admins work chats; editors and admins edit the FAQ.
  function mayChat(role) { return role === "agent" || role === "admin"; }
  function mayEdit(role) { return role === "editor" || role === "admin"; }

  function start(session) {
    me = session;
    $("login-view").hidden = true;
    $("app-view").hidden = false;
    $("me").textContent = session.display_name || session.user;
    $("role").textContent = ROLE_NAMES[session.role] || session.role || "";
    $("editor-link").hidden = !mayEdit(session.role);
    var chats = mayChat(session.role);
    var agentOnly = document.querySelectorAll(".agent-only");
    for (var k = 0; k < agentOnly.length; k++) agentOnly[k].hidden = !chats;
    $("panel-editor-only").hidden = chats;
    if (!chats) {
      $("editor-name").textContent = session.display_name || session.user;
      $("panel-chats").hidden = true; $("panel-tickets").hidden = true; $("panel-dashboard").hidden = true;
      return;
    }
    showTab("chats");
    var teamSelect = $("transfer-team");
    clear(teamSelect);
    (session.teams || []).forEach(function (t) {
      var o = el("option", "", t); o.value = t; teamSelect.appendChild(o);
    });
    loadCanned();
    connect();
  }

  function stop() {
    me = null;
    if (ws) { var s = ws; ws = null; s.close(); }
    clearTimeout(retry); retry = null;
    queues = {}; active = []; convs = {}; selected = null; recent = []; knownWaiting = null;
    renderQueue(); renderMine(); renderRecent(); renderSelected();
    document.title = BASE_TITLE;
    $("app-view").hidden = true;
    $("login-view").hidden = false;
    $("login-user").value = "";
    $("login-user").focus();
  }

  // --- websocket ----------------------------------------------------------------------------
  function connect() {
    retry = null;
    var url = (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + "/ws/agent";
    var socket = new WebSocket(url);
    ws = socket;
    helloSeen = false;
    setConn("Connecting…", "warn");
    socket.onmessage = function (ev) {
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      onFrame(frame);
    };
    socket.onclose = function (ev) {
      if (ws !== socket) return;
      ws = null;
      if (ev.code === 4401 || !me) { stop(); return; }
      setConn("Reconnecting…", "warn");
      var delay = backoff * (0.5 + Math.random() * 0.5);
      backoff = Math.min(backoff * 2, 10000);
      retry = setTimeout(function () {
        // The session may have ended while we were away.
        api("GET", "/api/me").then(function () { connect(); }).catch(function (err) {
          if (err.status === 401) stop(); else connect();
        });
      }, delay);
    };
  }

  function sendFrame(frame) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(frame)); return true; }
    toast("Not connected; try again in a moment.");
    return false;
  }

  function setConn(text, kind) {
    var c = $("conn-status");
    c.textContent = text;
    c.className = "conn" + (kind ? " conn-" + kind : "");
  }

  function onFrame(f) {
    switch (f.type) {
      case "hello":
        backoff = 500;
        helloSeen = true;
        setConn("", "");
        capacity = f.capacity || 0;
        setPresence(f.presence || "offline");
        if (wantedPresence && wantedPresence !== f.presence) {
          sendFrame({ type: "presence", status: wantedPresence });
          $("presence").value = wantedPresence;
        }
        wantedPresence = null;
        active = (f.active || []).slice();
        active.forEach(function (cid) { openConv(cid); });
        renderMine();
        renderLoad();
        if (selected) openConv(selected);
        break;
      case "presence":
        setPresence(f.status);
        break;
      case "queue":
        queues[f.team] = { items: f.items || [], at: Date.now() };
        renderQueue();
        alertNewChats();
        break;
      case "active":
        setActive(f.conversations || []);
        break;
      case "claimed":
        conv(f.conversation).packet = f.packet || {};
        conv(f.conversation).state = "assigned";
        if (active.indexOf(f.conversation) < 0) active.push(f.conversation);
        renderMine(); renderLoad();
        select(f.conversation);
        break;
      case "claim_failed":
        var why = {
          taken: f.winner ? "Already claimed by " + f.winner + "." : "Someone else claimed it first.",
          capacity: "You're at capacity; close a chat first.",
          not_found: "That chat no longer exists.",
          other_team: "That chat belongs to another team.",
        }[f.reason] || ("Couldn't claim this chat (" + String(f.reason || "").replace("not_queued:", "now ") + ").");
        if (f.reason === "taken" && f.winner) why = "Claimed by " + f.winner + ".";
        toast(why, "warn");
        break;
      case "event":
        addEntry(f.conversation, f);
        break;
      case "typing":
        var c = conv(f.conversation);
        c.typing = !!f.on;
        clearTimeout(c.typingTimer);
        if (c.typing) c.typingTimer = setTimeout(function () { c.typing = false; renderTyping(); }, 15000);
        renderTyping();
        break;
      case "ack":
        var p = document.querySelector('[data-client-id="agent-' + cssEscape(f.id) + '"]');
        if (p) p.classList.remove("pending");
        break;
      case "transferred":
      case "returned":
      case "closed":
        var verb = { transferred: "Chat transferred.", returned: "Chat returned to the assistant.", closed: "Chat closed." }[f.type];
        toast(verb, "ok");
        if (f.conversation === selected) renderSuggestions(null);
        if (f.type === "closed") {
          recent = [f.conversation].concat(recent.filter(function (x) { return x !== f.conversation; })).slice(0, 10);
          renderRecent();
        }
        setActive(active.filter(function (x) { return x !== f.conversation; }));
        $("transfer-form").hidden = true; $("close-form").hidden = true;
        break;
      case "error":
        if (f.code === "session_ended") { stop(); return; }
        toast(f.message || f.code || "Something went wrong.", "error");
        break;
      default:
        break;
    }
  }

  // Reasons arrive as phrases ("customer asked for a person"); as a heading they start upper-case.
  function sentence(text) {
    text = String(text || "");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function cssEscape(s) { return String(s).replace(/[^A-Za-z0-9_-]/g, ""); }

  // --- presence & load ----------------------------------------------------------------------
  $("presence").addEventListener("change", function () {
    if (this.value === "online" && window.Notification && Notification.permission === "default") {
      try { Notification.requestPermission(); } catch (e) { /* older browsers */ }
    }
  });
  function setPresence(status) {
    presence = status;
    $("presence").value = status;
    $("presence-dot").className = "presence-dot presence-" + status;
    renderQueue();
  }
  // A choice made before the socket is up (right after login) is sent once it is.
  var wantedPresence = null;
  $("presence").addEventListener("change", function (ev) {
    if (ws && ws.readyState === 1 && helloSeen) sendFrame({ type: "presence", status: ev.target.value });
    else wantedPresence = ev.target.value;
  });
  function renderLoad() {
    $("load").textContent = active.length + " / " + capacity + " chats";
  }
  function setActive(list) {
    active = list.slice();
    active.forEach(function (cid) { openConv(cid); });
    renderMine(); renderLoad();
    if (selected) renderChatHeader();
  }

  // --- conversations ------------------------------------------------------------------------
  function conv(cid) {
    if (!convs[cid]) convs[cid] = { entries: [], ids: {}, packet: null, state: "", loaded: false, typing: false, unread: 0 };
    return convs[cid];
  }

  function openConv(cid) {
    var c = conv(cid);
    if (c.loading) return;
    c.loading = true;
    api("GET", "/api/conversations/" + encodeURIComponent(cid)).then(function (data) {
      if (data.packet && Object.keys(data.packet).length) c.packet = data.packet;
      c.state = (data.fields && data.fields.state) || c.state;
      c.fields = data.fields || {};
      (data.entries || []).forEach(function (e) { addEntry(cid, e, true); });
      c.loaded = true;
      var last = c.entries.length ? c.entries[c.entries.length - 1].id : null;
      sendFrame({ type: "open", conversation: cid, last_seen: last });
      if (selected === cid) renderSelected();
      renderMine();
    }).catch(function (err) {
      toast(err.message, "error");
    }).then(function () { c.loading = false; });
  }

  function addEntry(cid, e, quiet) {
    var c = conv(cid);
    if (!e.id || c.ids[e.id]) return;
    c.ids[e.id] = true;
    if (e.event === "state" && e.state) c.state = e.state;
    if (e.from === "customer" && e.kind === "message") { c.typing = false; }
    // Optimistic agent message confirmed by the echoed entry.
    if (e.client_id && c.pendingIds && c.pendingIds[e.client_id]) {
      delete c.pendingIds[e.client_id];
      c.entries = c.entries.filter(function (x) { return x.client_id !== e.client_id || !x.pending; });
    }
    c.entries.push(e);
    if (selected === cid && !quiet && e.kind === "message" && e.from === "customer") loadSuggestions(cid);
    if (selected === cid) {
      var node = $("transcript").querySelector('[data-client-id="' + cssEscape(e.client_id || "-") + '"]');
      if (node && e.client_id) { node.classList.remove("pending"); node.setAttribute("data-id", e.id); }
      else appendEntry(e);
      renderTyping();
      if (e.event === "state") renderChatHeader();
    } else if (!quiet && e.kind === "message" && e.from === "customer") {
      c.unread += 1;
    }
    if (!quiet && e.kind === "message" && active.indexOf(cid) >= 0) renderMine();
  }

  function select(cid) {
    if (selected !== cid) renderSuggestions(null);
    selected = cid;
    conv(cid).unread = 0;
    if (!conv(cid).loaded) openConv(cid);
    renderSelected();
    renderMine();
    renderRecent();
    loadSuggestions(cid);
    $("composer-input").focus();
  }

  function renderSelected() {
    var c = selected && conv(selected);
    $("chat-empty").hidden = !!c;
    $("chat").hidden = !c;
    if (!c) { renderPacket(null); return; }
    renderChatHeader();
    // Another chat's transcript goes into a fresh log element instead of streaming into the
    // live one: a screen reader announces what is added to a live region, and a whole
    // transcript redrawn on every selection is not news. What arrives later is announced.
    var old = $("transcript");
    var hadFocus = old.contains(document.activeElement);
    var fresh = old.cloneNode(false);
    old.parentNode.replaceChild(fresh, old);
    if (hadFocus) fresh.focus();
    c.entries.forEach(appendEntry);
    renderTyping();
    renderPacket(c.packet, c);
    renderWrapUp(c);
  }

  function renderChatHeader() {
    var c = conv(selected);
    $("chat-title").textContent = "Chat " + selected.slice(0, 8);
    var bits = [];
    if (c.state) bits.push(stateLabel(c.state));
    if (c.packet && c.packet.reason_text) bits.push(sentence(c.packet.reason_text));
    $("chat-sub").textContent = bits.join(" · ");
    var mine = active.indexOf(selected) >= 0;
    ["act-transfer", "act-return", "act-close", "composer-send", "canned"].forEach(function (id) { $(id).disabled = !mine; });
    $("composer-input").disabled = !mine;
    $("composer-input").placeholder = mine
      ? "Write a reply… (Enter to send, Shift+Enter for a new line)"
      : "This chat is not assigned to you.";
  }

  function stateLabel(s) {
    return { bot: "With the assistant", queued: "Waiting in queue", assigned: "Assigned", closed: "Closed" }[s] || s;
  }

  function time(ms) {
    return new Date(ms || Date.now()).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function appendEntry(e) {
    var t = $("transcript");
    var row;
    if (e.kind === "message") {
      row = el("div", "entry entry-" + e.from + (e.pending ? " pending" : ""));
      var meta = el("div", "entry-meta");
      var who = e.from === "bot" ? "Assistant" : e.from === "agent" ? (e.agent_name || "Agent") : e.from === "customer" ? "Customer" : "System";
      var tag = el("span", "who", who);
      meta.appendChild(tag);
      if (e.from === "bot") meta.appendChild(el("span", "badge badge-bot", "BOT"));
      meta.appendChild(el("span", "at", time(e.at)));
      row.appendChild(meta);
      row.appendChild(el("div", "entry-text", e.text));
      if (Array.isArray(e.buttons) && e.buttons.length) {
        var opts = el("div", "entry-buttons");
        e.buttons.forEach(function (b) { opts.appendChild(el("span", "chip", b && b.title)); });
        row.appendChild(opts);
      }
    } else {
      var fallback = { started: "Chat started", rated: "Customer rated the chat", ticket_created: "Ticket created" }[e.event];
      var label = e.text || fallback || (e.event === "state" ? "State: " + stateLabel(e.state) : e.event || "Event");
      if (e.event === "rated" && e.data && e.data.score) label = "Customer rated the chat " + e.data.score + "/5";
      row = el("div", "entry-event", label);
    }
    if (e.client_id) row.setAttribute("data-client-id", e.client_id);
    if (e.id) row.setAttribute("data-id", e.id);
    t.appendChild(row);
    t.scrollTop = t.scrollHeight;
  }

  function renderTyping() {
    var c = selected && conv(selected);
    $("customer-typing").hidden = !(c && c.typing);
  }

  // --- packet -------------------------------------------------------------------------------
  function renderPacket(p, c) {
    var box = $("packet");
    clear(box);
    if (!p || !Object.keys(p).length) {
      box.appendChild(el("p", "empty", c ? "No handoff packet for this chat." : "Select a conversation to see why it was handed off."));
      return;
    }
    var head = el("div", "packet-reason");
    head.appendChild(el("span", "prio prio-" + Math.min(Number(p.priority) || 0, 3), "P" + (p.priority != null ? p.priority : "?")));
    head.appendChild(el("strong", "", sentence(p.reason_text || p.reason || "Handoff")));
    box.appendChild(head);

    section(box, "Summary").appendChild(el("p", "packet-summary", p.summary || "—"));

    var intents = Array.isArray(p.intents) ? p.intents : [];
    var si = section(box, "Intents");
    if (!intents.length) si.appendChild(el("p", "muted", "None detected"));
    intents.forEach(function (i) {
      var conf = Math.max(0, Math.min(1, Number(i && i.confidence) || 0));
      var row = el("div", "meter");
      row.appendChild(el("span", "meter-label", i && i.name));
      var bar = el("span", "meter-bar");
      var fill = el("span", "meter-fill");
      fill.style.width = Math.round(conf * 100) + "%";
      bar.appendChild(fill);
      row.appendChild(bar);
      row.appendChild(el("span", "meter-value", Math.round(conf * 100) + "%"));
      si.appendChild(row);
    });

    var slots = p.slots && typeof p.slots === "object" ? p.slots : {};
    var ss = section(box, "Details");
    var keys = Object.keys(slots).filter(function (k) { return slots[k] !== null && slots[k] !== ""; });
    if (!keys.length) ss.appendChild(el("p", "muted", "No details collected"));
    else {
      var dl = el("dl", "slots");
      keys.forEach(function (k) {
        dl.appendChild(el("dt", "", k.replace(/_/g, " ")));
        var v = slots[k];
        dl.appendChild(el("dd", "", typeof v === "object" ? JSON.stringify(v) : v));
      });
      ss.appendChild(dl);
    }

    var trend = Array.isArray(p.sentiment) ? p.sentiment : [];
    var st = section(box, "Sentiment trend");
    if (!trend.length) st.appendChild(el("p", "muted", "No sentiment data"));
    else {
      var spark = el("div", "spark");
      spark.setAttribute("role", "img");
      spark.setAttribute("aria-label", "Upset score per message: " + trend.map(function (t) { return Math.round((t.upset || 0) * 100) + "%"; }).join(", "));
      trend.forEach(function (t) {
        var b = el("span", "spark-bar");
        var u = Math.max(0, Math.min(1, Number(t.upset) || 0));
        b.style.height = Math.max(6, Math.round(u * 100)) + "%";
        b.className = "spark-bar " + (u > 0.66 ? "hot" : u > 0.33 ? "warm" : "calm");
        spark.appendChild(b);
      });
      st.appendChild(spark);
    }
    if (p.escalated_at) box.appendChild(el("p", "muted small", "Handed off at " + time(p.escalated_at) + (p.source ? " by " + p.source : "")));
  }
  function section(box, title) {
    var s = el("section", "packet-section");
    s.appendChild(el("h3", "", title));
    box.appendChild(s);
    return s;
  }

  // --- lists --------------------------------------------------------------------------------
  function waitText(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return seconds + "s";
    var m = Math.floor(seconds / 60);
    if (m < 60) return m + "m " + (seconds % 60) + "s";
    return Math.floor(m / 60) + "h " + (m % 60) + "m";
  }

  // Lists update in place, keyed by conversation: an item that stays keeps its element, so an
  // agent whose keyboard focus (or screen reader) is on it does not lose it when the queue
  // moves. New items are created, gone ones removed, and only misplaced ones are moved.
  function keyed(list, items, keyOf, create, update) {
    var existing = {};
    Array.prototype.forEach.call(list.children, function (li) {
      existing[li.getAttribute("data-key")] = li;
    });
    var wanted = {};
    items.forEach(function (item, index) {
      var key = keyOf(item);
      wanted[key] = true;
      var li = existing[key];
      if (!li) {
        li = create(item);
        li.setAttribute("data-key", key);
      }
      update(li, item);
      var here = list.children[index];
      if (here !== li) list.insertBefore(li, here || null);
    });
    Object.keys(existing).forEach(function (key) {
      if (!wanted[key]) list.removeChild(existing[key]);
    });
  }

  function renderQueue() {
    var all = [];
    Object.keys(queues).forEach(function (team) {
      var q = queues[team];
      q.items.forEach(function (i) { all.push({ team: team, item: i, at: q.at }); });
    });
    $("queue-count").textContent = String(all.length);
    $("queue-empty").hidden = all.length > 0;
    keyed($("queue-list"), all, function (x) { return x.item.conversation; }, newQueueItem, fillQueueItem);
  }

  function newQueueItem(x) {
    var cid = x.item.conversation;
    var li = el("li", "card queue-item");
    li.setAttribute("data-conversation", cid);
    var top = el("div", "card-top");
    top.appendChild(el("span", "prio"));
    top.appendChild(el("span", "card-reason"));
    top.appendChild(el("span", "wait"));
    li.appendChild(top);
    li.appendChild(el("p", "card-summary"));
    var foot = el("div", "card-foot");
    foot.appendChild(el("span", "team"));
    var view = el("button", "btn btn-ghost btn-sm", "Preview");
    view.type = "button";
    view.setAttribute("aria-label", "Preview chat " + cid.slice(0, 8));
    view.addEventListener("click", function () { select(cid); });
    foot.appendChild(view);
    var claim = el("button", "btn btn-primary btn-sm queue-claim", "Claim");
    claim.type = "button";
    claim.addEventListener("click", function () { sendFrame({ type: "claim", conversation: cid }); });
    foot.appendChild(claim);
    li.appendChild(foot);
    return li;
  }

  function fillQueueItem(li, x) {
    var i = x.item;
    var prio = li.querySelector(".prio");
    prio.className = "prio prio-" + Math.min(Number(i.priority) || 0, 3);
    prio.textContent = "P" + i.priority;
    li.querySelector(".card-reason").textContent = sentence(i.reason_text || i.reason || "Waiting");
    var w = li.querySelector(".wait");
    w.textContent = waitText(i.waiting_seconds + (Date.now() - x.at) / 1000);
    w.setAttribute("data-wait", String(i.waiting_seconds));
    w.setAttribute("data-at", String(x.at));
    li.querySelector(".card-summary").textContent = String(i.summary || "").split("\n")[0] || "No summary";
    li.querySelector(".team").textContent = x.team;
    var claim = li.querySelector(".queue-claim");
    claim.setAttribute("aria-label", "Claim chat: " + (i.reason_text || i.conversation.slice(0, 8)));
    claim.disabled = presence !== "online";
    claim.title = presence !== "online" ? "Go online to claim chats" : "";
  }

  function renderMine() {
    $("mine-count").textContent = String(active.length);
    $("mine-empty").hidden = active.length > 0;
    keyed($("mine-list"), active, function (cid) { return cid; }, newMineItem, fillMineItem);
  }

  function newMineItem(cid) {
    var li = el("li");
    var btn = el("button", "mine-item");
    btn.type = "button";
    btn.appendChild(el("span", "mine-title"));
    btn.appendChild(el("span", "mine-last"));
    btn.appendChild(el("span", "unread"));
    btn.addEventListener("click", function () { select(cid); });
    li.appendChild(btn);
    return li;
  }

  function fillMineItem(li, cid) {
    var c = conv(cid);
    var btn = li.querySelector(".mine-item");
    btn.classList.toggle("selected", cid === selected);
    if (cid === selected) btn.setAttribute("aria-current", "true");
    else btn.removeAttribute("aria-current");
    btn.querySelector(".mine-title").textContent =
      sentence((c.packet && c.packet.reason_text) || "Chat " + cid.slice(0, 8));
    var last = null;
    for (var k = c.entries.length - 1; k >= 0; k--) if (c.entries[k].kind === "message") { last = c.entries[k]; break; }
    btn.querySelector(".mine-last").textContent = last ? last.text : "…";
    var unread = btn.querySelector(".unread");
    unread.textContent = c.unread ? String(c.unread) : "";
    unread.hidden = !c.unread;
  }

  setInterval(function () {
    var nodes = document.querySelectorAll(".wait[data-wait]");
    for (var k = 0; k < nodes.length; k++) {
      var n = nodes[k];
      n.textContent = waitText(Number(n.getAttribute("data-wait")) + (Date.now() - Number(n.getAttribute("data-at"))) / 1000);
    }
  }, 1000);

  // --- composer & actions -------------------------------------------------------------------
  $("composer").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = $("composer-input");
    var text = input.value.trim();
    if (!text || !selected) return;
    var id = newId();
    if (!sendFrame({ type: "message", conversation: selected, id: id, text: text })) return;
    input.value = "";
    stopTyping();
    var c = conv(selected);
    c.pendingIds = c.pendingIds || {};
    c.pendingIds["agent-" + id] = true;
    var e = { kind: "message", from: "agent", text: text, at: Date.now(), agent_name: me.display_name, client_id: "agent-" + id, pending: true };
    c.entries.push(e);
    appendEntry(e);
  });
  $("composer-input").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("composer-input").addEventListener("input", function () {
    if (!selected) return;
    if (!typingSent) { typingSent = true; sendFrame({ type: "typing", conversation: selected, on: true }); }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, 2500);
  });
  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSent && selected) { sendFrame({ type: "typing", conversation: selected, on: false }); }
    typingSent = false;
  }

  function toggle(formId, btnId) {
    var f = $(formId);
    f.hidden = !f.hidden;
    $(btnId).setAttribute("aria-expanded", String(!f.hidden));
    if (!f.hidden) { var first = f.querySelector("select, input, textarea"); if (first) first.focus(); }
  }
  $("act-transfer").addEventListener("click", function () { $("close-form").hidden = true; toggle("transfer-form", "act-transfer"); });
  $("act-close").addEventListener("click", function () { $("transfer-form").hidden = true; toggle("close-form", "act-close"); });
  $("act-return").addEventListener("click", function () {
    if (selected) sendFrame({ type: "return_to_bot", conversation: selected });
  });
  $("transfer-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var frame = { type: "transfer", conversation: selected };
    var agent = $("transfer-agent").value.trim();
    if (agent) frame.to_agent = agent; else frame.to_team = $("transfer-team").value;
    sendFrame(frame);
  });
  $("close-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var tags = $("close-tags").value.split(",").map(function (t) { return t.trim(); }).filter(Boolean).slice(0, 20);
    var frame = { type: "close", conversation: selected, tags: tags };
    var notes = $("close-notes").value.trim();
    if (notes) frame.notes = notes;
    if (sendFrame(frame)) { $("close-notes").value = ""; $("close-tags").value = ""; }
  });

  // --- new chats alert ----------------------------------------------------------------------
  // A chat joining the queue shows in the tab title ("(2 waiting)"), as a toast, with a short
  // tone while online, and as a desktop notification when the console is in the background.
  var BASE_TITLE = document.title;
  var knownWaiting = null;   // conversation ids seen waiting; null until the first queue frame
  var audio = null;
  function alertNewChats() {
    var waiting = {};
    var fresh = [];
    Object.keys(queues).forEach(function (team) {
      queues[team].items.forEach(function (i) {
        waiting[i.conversation] = i;
        if (knownWaiting && !knownWaiting[i.conversation]) fresh.push(i);
      });
    });
    var count = Object.keys(waiting).length;
    document.title = count ? "(" + count + " waiting) " + BASE_TITLE : BASE_TITLE;
    var first = knownWaiting === null;
    knownWaiting = waiting;
    if (first || !fresh.length) return;
    var what = fresh[0].reason_text || fresh[0].reason || "a customer";
    toast(fresh.length === 1 ? "New chat waiting: " + what : fresh.length + " new chats waiting", "info");
    if (presence !== "online") return;
    chime();
    if (document.hidden && window.Notification && Notification.permission === "granted") {
      try { new Notification("New chat waiting", { body: what, tag: "harbor-queue" }); } catch (e) { /* unsupported */ }
    }
  }
  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      osc.connect(gain); gain.connect(audio.destination);
      osc.start(); osc.stop(audio.currentTime + 0.25);
      $("app-view").setAttribute("data-chimes", String(Number($("app-view").getAttribute("data-chimes") || 0) + 1));
    } catch (e) { /* no audio here: the title and toast still tell */ }
  }

  // --- closed by me -------------------------------------------------------------------------
  var recent = [];
  function renderRecent() {
    var list = $("recent-list");
    clear(list);
    $("recent-section").hidden = !recent.length;
    recent.forEach(function (cid) {
      var c = conv(cid);
      var li = el("li");
      var btn = el("button", "mine-item" + (cid === selected ? " selected" : ""));
      btn.type = "button";
      btn.appendChild(el("span", "mine-title", sentence((c.packet && c.packet.reason_text) || "Chat " + cid.slice(0, 8))));
      btn.appendChild(el("span", "mine-last", "Closed"));
      btn.addEventListener("click", function () {
        c.loaded = false;  // reload: the wrap-up notes and tags are in the conversation's fields
        select(cid);
      });
      li.appendChild(btn);
      list.appendChild(li);
    });
  }
  function renderWrapUp(c) {
    var f = c && c.fields;
    if (!f || (!f.notes && !f.tags)) return;
    var tags = [];
    try { tags = JSON.parse(f.tags || "[]"); } catch (e) { tags = []; }
    if (!f.notes && !tags.length) return;
    var box = section($("packet"), "Wrap-up");
    box.classList.add("wrap-up");
    if (f.notes) box.appendChild(el("p", "wrap-notes", f.notes));
    if (tags.length) {
      var row = el("div", "tag-row");
      tags.forEach(function (t) { row.appendChild(el("span", "tag", t)); });
      box.appendChild(row);
    }
  }

  // --- canned responses and suggested answers -----------------------------------------------
  // Canned responses come from CANNED_RESPONSES_FILE (see docs/console.md); {agent} becomes the
  // agent's display name. Suggested answers are the assistant's best FAQ answers for the
  // customer's last message.
  function insertReply(text) {
    var input = $("composer-input");
    if (input.disabled) return;
    input.value = input.value.trim() ? input.value.replace(/\s+$/, "") + " " + text : text;
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }
  function loadCanned() {
    api("GET", "/api/canned").then(function (data) {
      var select = $("canned");
      while (select.options.length > 1) select.remove(1);
      (data.responses || []).forEach(function (r) {
        var o = el("option", "", r.title);
        o.value = r.text;
        select.appendChild(o);
      });
    }).catch(function () { /* the menu stays empty */ });
  }
  $("canned").addEventListener("change", function () {
    var text = this.value;
    this.selectedIndex = 0;
    if (text) insertReply(text.replace(/\{agent\}/g, (me && me.display_name) || ""));
  });

  var suggestTimer = null;
  function loadSuggestions(cid) {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(function () {
      if (selected !== cid || active.indexOf(cid) < 0) { renderSuggestions(null); return; }
      api("GET", "/api/conversations/" + encodeURIComponent(cid) + "/suggestions").then(function (data) {
        if (selected === cid) renderSuggestions(data);
      }).catch(function () { renderSuggestions(null); });
    }, 150);
  }
  function renderSuggestions(data) {
    var box = $("suggestions");
    var list = $("suggestions-list");
    clear(list);
    var items = (data && data.suggestions) || [];
    box.hidden = !items.length;
    if (!items.length) return;
    $("suggestions-for").textContent = "for “" + String(data.message).slice(0, 60) + "”";
    items.forEach(function (sug) {
      var li = el("li", "suggestion");
      var head = el("div", "suggestion-head");
      head.appendChild(el("span", "suggestion-key", String(sug.key).replace(/^faq\//, "").replace(/_/g, " ")));
      var pctText = Math.round((Number(sug.confidence) || 0) * 100) + "%";
      var conf = el("span", "suggestion-conf", pctText + " match");
      head.appendChild(conf);
      li.appendChild(head);
      li.appendChild(el("p", "suggestion-text", sug.answer));
      var btn = el("button", "btn btn-ghost btn-sm", "Insert");
      btn.type = "button";
      btn.setAttribute("aria-label", "Insert suggested answer: " + String(sug.key).replace(/^faq\//, "") + " (" + pctText + ")");
      btn.addEventListener("click", function () { insertReply(sug.answer); });
      li.appendChild(btn);
      list.appendChild(li);
    });
  }

  // --- dashboard chart ----------------------------------------------------------------------
  var SVGNS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function renderChart(daily) {
    var box = $("chart");
    clear(box);
    daily = Array.isArray(daily) ? daily : [];
    var series = [["conversations", "conv"], ["handoffs", "hand"], ["tickets", "tick"]];
    var max = 1;
    daily.forEach(function (d) { series.forEach(function (s) { max = Math.max(max, Number(d[s[0]]) || 0); }); });
    // Whole-number gridlines: the top of the scale is even, so its half is a count too.
    max = max <= 1 ? 2 : max + (max % 2);
    // Drawn at the container's own width so that text keeps its size and nothing stretches.
    var W = Math.max(320, Math.round(box.clientWidth || 760)), H = 220, left = 36, bottom = 28, top = 10;
    var plotH = H - bottom - top;
    var groupW = (W - left) / Math.max(1, daily.length);
    var barW = Math.max(3, Math.min(22, (groupW - 8) / 3));
    var chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", class: "chart-svg" });
    var summary = daily.map(function (d) {
      return d.day + ": " + (d.conversations || 0) + " conversations, " + (d.handoffs || 0) + " handoffs, " + (d.tickets || 0) + " tickets";
    }).join("; ");
    chart.setAttribute("aria-label", summary || "No data yet");
    [0, 0.5, 1].forEach(function (f) {
      var y = top + plotH * (1 - f);
      chart.appendChild(svg("line", { x1: left, x2: W, y1: y, y2: y, class: "grid" }));
      chart.appendChild(svg("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, max * f));
    });
    daily.forEach(function (d, i) {
      var x0 = left + i * groupW + (groupW - barW * 3) / 2;
      series.forEach(function (s, j) {
        var v = Number(d[s[0]]) || 0;
        var h = plotH * v / max;
        var bar = svg("rect", { x: x0 + j * barW, y: top + plotH - h, width: barW - 1, height: Math.max(0, h), class: "bar-" + s[1] });
        bar.appendChild(svg("title", {}, d.day + " " + s[0] + ": " + v));
        chart.appendChild(bar);
      });
      if (daily.length <= 10 || i % Math.ceil(daily.length / 10) === 0) {
        var label = new Date(d.day + "T12:00:00Z").toLocaleDateString([], { month: "short", day: "numeric" });
        chart.appendChild(svg("text", { x: left + i * groupW + groupW / 2, y: H - 8, class: "axis", "text-anchor": "middle" }, label));
      }
    });
    box.appendChild(chart);
  }

  // --- toast --------------------------------------------------------------------------------
  var toastTimer = null;
  function toast(text, kind) {
    var t = $("toast");
    t.textContent = text;
    t.className = "toast" + (kind ? " toast-" + kind : "");
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, 5000);
  }

  // --- tabs ---------------------------------------------------------------------------------
  var tabs = ["chats", "tickets", "dashboard"];
  function showTab(name) {
    tabs.forEach(function (t) {
      var on = t === name;
      $("tab-" + t).setAttribute("aria-selected", String(on));
      $("tab-" + t).tabIndex = on ? 0 : -1;
      $("panel-" + t).hidden = !on;
    });
    if (name === "tickets") loadTickets();
    if (name === "dashboard") loadStats();
  }
  tabs.forEach(function (t, idx) {
    var tab = $("tab-" + t);
    tab.addEventListener("click", function () { showTab(t); });
    tab.addEventListener("keydown", function (ev) {
      var d = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
      if (!d) return;
      var next = tabs[(idx + d + tabs.length) % tabs.length];
      showTab(next); $("tab-" + next).focus();
    });
  });

  function loadTickets() {
    api("GET", "/api/tickets?limit=200").then(function (data) {
      var body = $("tickets-body");
      clear(body);
      var list = data.tickets || [];
      $("tickets-empty").hidden = list.length > 0;
      list.forEach(function (t) {
        var tr = el("tr");
        tr.appendChild(el("td", "nowrap", t.at ? new Date(Number(t.at)).toLocaleString() : ""));
        tr.appendChild(el("td", "", t.email));
        tr.appendChild(el("td", "ticket-text", t.text));
        var st = el("td");
        st.appendChild(el("span", "status status-" + cssEscape(t.status || "open"), t.status || "open"));
        tr.appendChild(st);
        tr.appendChild(el("td", "mono", String(t.conversation || "").slice(0, 8)));
        body.appendChild(tr);
      });
    }).catch(function (err) { toast(err.message, "error"); });
  }
  $("tickets-refresh").addEventListener("click", loadTickets);

  function loadStats() {
    api("GET", "/api/stats?days=" + $("stats-days").value).then(renderStats)
      .catch(function (err) { toast(err.message, "error"); });
  }
  $("stats-days").addEventListener("change", loadStats);

  function clamp01(x) { return x == null ? null : Math.max(0, Math.min(1, x)); }
  function pct(x) { return x == null ? "—" : Math.round(clamp01(x) * 1000) / 10 + "%"; }
  function renderStats(s) {
    var box = $("stats");
    clear(box);
    renderChart(s.daily);
    var handoffRate = s.handoff_rate !== undefined ? s.handoff_rate
      : (s.conversations ? clamp01(s.handoffs / s.conversations) : null);
    function seconds(v) { return v == null ? "—" : waitText(v); }
    function minutesBar(v, full) { return v == null ? null : Math.min(1, v / full); }
    var csatText = s.csat_average == null ? "—" : s.csat_average.toFixed(2) + " / 5";
    if (s.csat != null) csatText += " · " + pct(s.csat) + " satisfied";
    var cards = [
      { label: "Conversations", value: String(s.conversations || 0) },
      { label: "Handoff rate", value: pct(handoffRate), bar: clamp01(handoffRate), tone: "amber" },
      { label: "Containment rate", value: pct(s.containment_rate), bar: clamp01(s.containment_rate), tone: "teal" },
      { label: "CSAT", value: csatText, bar: s.csat_average == null ? null : s.csat_average / 5, tone: "green" },
      { label: "Median wait", value: seconds(s.median_wait_seconds), bar: minutesBar(s.median_wait_seconds, 600), tone: "blue" },
      { label: "First response", value: seconds(s.median_first_response_seconds), bar: minutesBar(s.median_first_response_seconds, 300), tone: "blue" },
      { label: "Median handling", value: seconds(s.median_handling_seconds), bar: minutesBar(s.median_handling_seconds, 900), tone: "blue" },
      { label: "Waiting now", value: String(s.waiting_now || 0) },
      { label: "Tickets", value: String(s.tickets || 0) },
    ];
    cards.forEach(function (c) {
      var card = el("div", "stat");
      card.appendChild(el("span", "stat-label", c.label));
      card.appendChild(el("span", "stat-value", c.value));
      if (c.bar !== undefined) {
        var bar = el("div", "bar");
        bar.setAttribute("aria-hidden", "true");
        var fill = el("div", "bar-fill tone-" + c.tone);
        fill.style.width = (c.bar == null ? 0 : Math.round(Math.max(0, Math.min(1, c.bar)) * 100)) + "%";
        bar.appendChild(fill);
        card.appendChild(bar);
      }
      box.appendChild(card);
    });
  }

  // --- boot ---------------------------------------------------------------------------------
  api("GET", "/api/me").then(start).catch(function () {
    $("login-view").hidden = false;
    $("login-user").focus();
  });
})();
