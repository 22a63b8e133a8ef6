// The FAQ editor (/console/editor): wires the store, the session and the controller, and renders
// the page from the store on every change. The server enforces the roles; the page only hides
// what the server would refuse anyway. See docs/editor-console.md.
import { createSession } from "../common/session.js";
import { createStore } from "../common/store.js";
import { createToaster } from "../common/toast.js";
import { html, mount } from "../common/view.js";
import { App } from "./app.js";
import { createController } from "./controller.js";
import { initialState, reduce } from "./state.js";

const store = createStore(reduce, initialState());
const toast = createToaster(store.dispatch, 4000);
/** @type {ReturnType<typeof createController>} */
let controller;
const session = createSession({
  onStart: (profile) => controller.start(profile),
  onEnd: () => controller.stop(),
});
controller = createController({ store, session, toast });

const root = /** @type {HTMLElement} */ (document.getElementById("editor-root"));
mount(root, store, (state) => html`<${App} state=${state} act=${controller.act} />`);

void session.resume();
