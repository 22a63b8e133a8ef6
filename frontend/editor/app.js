// The editor page as one Preact tree rendered from the store: the sign-in form, the "editors
// only" page for an agent, or the top bar and the four tabs.
import { SignIn, nameOf } from "../common/session.js";
import { TabPanel, Tabs } from "../common/tabs.js";
import { Toast } from "../common/toast.js";
import { html } from "../common/view.js";
import { Audit } from "./audit.js";
import { Publish } from "./publish.js";
import { TopicMain, TopicNav } from "./topics.js";
import { Unanswered } from "./unanswered.js";

/**
 * @typedef {import("./state.js").EditorState} EditorState
 * @typedef {import("./state.js").Tab} Tab
 * @typedef {import("./controller.js").Actions} Actions
 * @typedef {import("../common/session.js").Profile} Profile
 */

function Denied() {
  return html`<main id="denied-view" class="login" aria-labelledby="denied-title">
    <div class="login-card">
      <div class="brand-mark" aria-hidden="true">HA</div>
      <h1 id="denied-title">Editors only</h1>
      <p class="login-sub">The FAQ editor is for editors and admins. Ask an admin for the editor role.</p>
      <a class="btn btn-primary btn-block" href="/console">Back to the console</a>
    </div>
  </main>`;
}

/** @param {{state: EditorState, act: Actions}} props */
function TopBar(props) {
  const state = props.state;
  const profile = /** @type {Profile} */ (state.profile);
  const publishing = state.publishing;
  const groups = state.groups.length;
  const tabs = [
    { name: "topics", label: "Topics" },
    {
      name: "unanswered",
      label: html`Unanswered <span id="unanswered-count" class="tab-count" hidden=${!groups}>${groups}</span>`,
    },
    { name: "publish", label: "Publish" },
    { name: "audit", label: "Audit log", hidden: profile.role !== "admin" },
  ];
  return html`<header class="topbar">
    <h1 class="topbar-brand"><span class="brand-mark small" aria-hidden="true">HA</span> FAQ editor</h1>
    <${Tabs} label="Editor sections" tabs=${tabs} selected=${state.tab}
      onSelect=${(/** @type {Tab} */ tab) => props.act.showTab(tab)} />
    <div class="topbar-right">
      <span id="publish-badge" class="publish-badge" role="status" hidden=${!publishing}>
        ${publishing
          ? `${publishing.kind === "rollback" ? "Rolling back" : "Publishing"}${
              publishing.actor && publishing.actor !== profile.user ? ` (${publishing.actor})` : ""
            }…`
          : ""}</span>
      <a class="btn btn-ghost" href="/console">Agent console</a>
      <span id="me" class="me">${nameOf(profile)} · ${profile.role}</span>
      <button type="button" id="logout" class="btn btn-ghost" onClick=${() => props.act.signOut()}>Log out</button>
    </div>
  </header>`;
}

/** @param {{state: EditorState, act: Actions}} props */
export function App(props) {
  const state = props.state;
  const act = props.act;
  if (state.view === "booting") return null;
  if (state.view === "login" || !state.profile) {
    return html`<${SignIn} subtitle="Sign in to the FAQ editor" signIn=${act.signIn} />`;
  }
  if (state.view === "denied") return html`<${Denied} />`;
  return html`<div id="app-view" class="app">
    <${TopBar} state=${state} act=${act} />
    <${Toast} toast=${state.toast} />
    <main class="panels">
      <${TabPanel} name="topics" selected=${state.tab} className="editor-workspace">
        <${TopicNav} state=${state} act=${act} />
        <${TopicMain} state=${state} act=${act} />
      <//>
      <${TabPanel} name="unanswered" selected=${state.tab} className="page">
        <${Unanswered} state=${state} act=${act} />
      <//>
      <${TabPanel} name="publish" selected=${state.tab} className="page">
        <${Publish} state=${state} act=${act} />
      <//>
      <${TabPanel} name="audit" selected=${state.tab} className="page">
        <${Audit} entries=${state.audit} filter=${state.auditFilter} act=${act} />
      <//>
    </main>
  </div>`;
}
