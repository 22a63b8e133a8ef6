// The agent console (/console): wires the store, the session and the controller, and renders the
// page from the store on every change. Protocol: docs/protocol.md ("Agent websocket"); layout and
// view layer: docs/console.md.
import { createSession } from "../common/session.js";
import { createStore } from "../common/store.js";
import { createToaster } from "../common/toast.js";
import { html, mount } from "../common/view.js";
import { waitingTitle } from "./alerts.js";
import { App } from "./app.js";
import { createController } from "./controller.js";
import { waitingCount } from "./queue.js";
import { initialState, reduce } from "./state.js";

const BASE_TITLE = document.title;
const store = createStore(reduce, initialState());
const toast = createToaster(store.dispatch, 5000);
/** @type {ReturnType<typeof createController>} */
let controller;
const session = createSession({
  onStart: (profile) => controller.start(profile),
  onEnd: () => controller.stop(),
});
controller = createController({ store, session, toast });

const root = /** @type {HTMLElement} */ (document.getElementById("console-root"));
mount(root, store, (state) => html`<${App} state=${state} act=${controller.act} />`);
// The tab title counts the chats waiting ("(2 waiting) …"), so a console in a background tab
// still shows when someone needs an agent.
store.subscribe((state) => {
  const title = waitingTitle(waitingCount(state.queues), BASE_TITLE);
  if (document.title !== title) document.title = title;
});
window.addEventListener("online", () => controller.network(true));
window.addEventListener("offline", () => controller.network(false));

void session.resume();
