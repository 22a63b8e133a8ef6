/* Harbor Assist chat widget: one <script src=".../widget.js"> tag adds the chat to a page.
 * Protocol: docs/protocol.md (customer websocket, v1). Every message is rendered as text. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script.src, location.href);
  var STORE = "harbor-assist:" + base.host;
  var saved = {};
  try { saved = JSON.parse(localStorage.getItem(STORE) || "{}"); } catch (e) { saved = {}; }
  var shown = {};
  var ws = null;
  var outbox = [];

  function save() { localStorage.setItem(STORE, JSON.stringify(saved)); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var root = el("div", "ha-root");
  var log = el("div", "ha-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  var form = el("form", "ha-form");
  var input = el("input", "ha-input");
  input.setAttribute("aria-label", "Type your message");
  var send = el("button", "ha-send", "Send");
  form.appendChild(input); form.appendChild(send);
  root.appendChild(log); root.appendChild(form);
  document.body.appendChild(root);

  function render(frame) {
    if (frame.kind === "message") {
      var key = frame.client_id || frame.id;
      if (shown[key]) return;
      shown[key] = true;
      var item = el("div", "ha-msg ha-" + frame.from, frame.text);
      item.setAttribute("data-id", frame.id);
      log.appendChild(item);
      (frame.buttons || []).forEach(function (b) {
        var btn = el("button", "ha-quick", b.title);
        btn.type = "button";
        btn.addEventListener("click", function () { sendText(b.payload); });
        log.appendChild(btn);
      });
    } else if (frame.text) {
      log.appendChild(el("div", "ha-system", frame.text));
    }
    saved.last_seen = frame.id; save();
  }

  function connect() {
    var url = base.protocol.replace("http", "ws") + "//" + base.host + "/ws/customer";
    ws = new WebSocket(url);
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: "hello", v: 1, token: saved.token || null, last_seen: saved.last_seen || null }));
    };
    ws.onmessage = function (ev) {
      var frame = JSON.parse(ev.data);
      if (frame.type === "welcome") {
        if (frame.conversation !== saved.conversation) { saved.last_seen = null; }
        saved.token = frame.token; saved.conversation = frame.conversation; save();
        while (outbox.length) ws.send(outbox.shift());
      } else if (frame.type === "event") {
        render(frame);
      } else if (frame.type === "error" && frame.code === "token_refused") {
        saved = {}; save();
      }
    };
    ws.onclose = function () { setTimeout(connect, 1000); };
  }

  function sendText(text) {
    var id = "m" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    var frame = JSON.stringify({ type: "message", id: id, text: text });
    if (ws && ws.readyState === 1) ws.send(frame); else outbox.push(frame);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    sendText(text);
  });
  connect();
})();
