/* Harbor Assist chat widget: the one script a shop's page loads.
 *
 *   <script src="https://host/widget.js" data-title="…" data-color="#0b5d6b"
 *           data-greeting="…" defer></script>
 *
 * The chat is one state object (state.js) changed by a pure reducer, drawn with Preact + htm
 * (view.js) inside a shadow root of its own, kept for the tab in sessionStorage (storage.js),
 * and connected to the service by chat.js (protocol: docs/protocol.md, customer websocket v1).
 * Layout and reasons: docs/widget.md.
 */
import { createStore } from "../common/store.js";
import { html, render } from "../common/view.js";
import { createChat, newId } from "./chat.js";
import { readableColour } from "./colour.js";
import { initialState, reduce } from "./state.js";
import { readSaved, storageKey, writeSaved } from "./storage.js";
import { Widget } from "./view.js";

/** @typedef {import("./state.js").WidgetState} WidgetState */

const page = /** @type {Window & {__harborAssistLoaded?: boolean}} */ (window);

// A shop that includes the tag twice (a theme and an app both adding it) gets one chat.
if (!page.__harborAssistLoaded) {
  page.__harborAssistLoaded = true;
  start();
}

function start() {
  // Read while this script runs: afterwards document.currentScript is gone.
  const script = /** @type {HTMLScriptElement | null} */ (
    document.currentScript || document.querySelector('script[src*="widget.js"]')
  );
  const service = new URL(script ? script.src : "/widget.js", location.href);
  const attribute = (/** @type {string} */ name) => (script && script.getAttribute(name)) || "";
  const panelId = newId("ha-panel-");
  const config = {
    title: attribute("data-title") || "Chat with us",
    greeting: attribute("data-greeting") || "Hi! Ask us about orders, shipping or returns.",
    colour: readableColour(attribute("data-color") || undefined),
    // Loaded from the script's own origin, into the shadow root.
    stylesheet: new URL("/static/widget.css", service).href,
    panelId,
  };

  const key = storageKey(service.host);
  const session = () => window.sessionStorage;
  const saved = readSaved(session, key, () => window.localStorage);
  const store = createStore(reduce, initialState(saved));
  keepForTheTab(store, (state) =>
    writeSaved(session, key, {
      token: state.token,
      conversation: state.conversation,
      lastSeen: state.lastSeen,
      open: state.open,
      entries: state.cache,
    }),
  );

  // The widget lives in a shadow root on a host element of its own: the shop's rules
  // (`button {…}`, `p {…}`) cannot reach inside, and the widget's styles cannot leak out.
  // Open mode, so the shop's tools (and tests) can inspect it; nothing secret is in the DOM.
  const host = document.createElement("div");
  host.className = "harbor-assist";
  const shadow = host.attachShadow({ mode: "open" });
  const chat = createChat({ store, service, shadow });
  const draw = () => render(html`<${Widget} state=${store.get()} chat=${chat} config=${config} />`, shadow);
  draw();
  store.subscribe(draw);

  // What this tab showed before (a reload, the shop's previous page), at once.
  store.dispatch({ type: "replay", frames: saved.entries, now: Date.now() });

  window.addEventListener("online", () => chat.online());
  window.addEventListener("offline", () => chat.offline());

  const whenReady = (/** @type {() => void} */ then) => {
    if (document.body) then();
    else document.addEventListener("DOMContentLoaded", then);
  };
  whenReady(() => document.body.appendChild(host));
  // A chat to resume: connect now, and reopen the panel if it was open.
  if (saved.token) {
    chat.start();
    if (saved.open) whenReady(() => chat.openPanel());
  }
}

/**
 * Writes what a reload needs whenever it changed (not on every keystroke in the composer).
 * @param {import("../common/store.js").Store<WidgetState, any>} store
 * @param {(state: WidgetState) => void} write
 */
function keepForTheTab(store, write) {
  let kept = store.get();
  store.subscribe((state) => {
    const changed =
      state.token !== kept.token ||
      state.conversation !== kept.conversation ||
      state.lastSeen !== kept.lastSeen ||
      state.open !== kept.open ||
      state.cache !== kept.cache;
    kept = state;
    if (changed) write(state);
  });
}
