// The console page as one Preact tree rendered from the store: the sign-in form, or the top bar
// and the tab panels of the signed-in agent (an editor gets a welcome panel instead of chats).
import { ROLE_NAMES, SignIn, mayChat, mayEdit, nameOf } from "../common/session.js";
import { TabPanel, Tabs } from "../common/tabs.js";
import { Toast } from "../common/toast.js";
import { html } from "../common/view.js";
import { valueOf } from "../common/forms.js";
import { Chat } from "./chat.js";
import { Dashboard } from "./dashboard.js";
import { earlierQuery } from "./earlier.js";
import { EarlierConversations, History } from "./history.js";
import { Mail } from "./mail.js";
import { OrderPanel } from "./orders.js";
import { Packet } from "./packet.js";
import { Privacy } from "./privacy.js";
import { MineSection, QueueSection, RecentSection } from "./queue.js";
import { conversationOf } from "./state.js";
import { Tickets } from "./tickets.js";

/**
 * @typedef {import("./state.js").ConsoleState} ConsoleState
 * @typedef {import("./state.js").Tab} Tab
 * @typedef {import("./controller.js").Actions} Actions
 */

const TABS = [
  { name: "chats", label: "Chats" },
  { name: "history", label: "History" },
  { name: "tickets", label: "Tickets" },
  { name: "dashboard", label: "Dashboard" },
];
// Export and erasure are admins' (the API refuses anyone else): agents do not see the tab at all.
const ADMIN_TABS = [...TABS, { name: "privacy", label: "Privacy" }];
// What make run's local mail catcher caught: admins only, and only where it runs (mail.js).
const MAIL_TABS = [...ADMIN_TABS, { name: "mail", label: "Mail" }];

/** @type {Record<string, [string, string]>} */
const CONNECTION = {
  "": ["", ""],
  connecting: ["Connecting…", "warn"],
  reconnecting: ["Reconnecting…", "warn"],
};

/** @param {{state: ConsoleState, act: Actions}} props */
function TopBar(props) {
  const state = props.state;
  const act = props.act;
  const profile = /** @type {import("../common/session.js").Profile} */ (state.profile);
  const chats = mayChat(profile.role);
  const connection = CONNECTION[state.connection];
  const connText = connection[0];
  const connKind = connection[1];
  return html`<header class="topbar">
    <h1 class="topbar-brand"><span class="brand-mark small" aria-hidden="true">HA</span> Harbor Assist</h1>
    ${chats
      ? html`<${Tabs} label="Console sections" extraClass="agent-only"
          tabs=${profile.role === "admin" ? (state.mail.available ? MAIL_TABS : ADMIN_TABS) : TABS} selected=${state.tab}
          onSelect=${(/** @type {Tab} */ tab) => act.showTab(tab)} />`
      : null}
    <div class="topbar-right">
      <span id="conn-status" class=${connKind ? `conn conn-${connKind}` : "conn"} role="status">${connText}</span>
      ${chats
        ? html`<span id="load" class="load agent-only" title="Active chats / capacity">
              ${`${state.active.length} / ${state.capacity} chats`}</span>
            <label class="presence agent-only">
              <span class=${`presence-dot presence-${state.presence}`} id="presence-dot" aria-hidden="true"></span>
              <span class="sr-only">Status</span>
              <select id="presence" aria-label="Presence status" value=${state.presenceAsked || state.presence}
                onChange=${(/** @type {Event} */ e) => act.askPresence(valueOf(e))}>
                <option value="online">Online</option>
                <option value="away">Away</option>
                <option value="offline">Offline</option>
              </select>
            </label>`
        : null}
      <a id="editor-link" class="topbar-link" href="/console/editor" hidden=${!mayEdit(profile.role)}>FAQ editor</a>
      <span class="who-am-i"><span id="me" class="me">${nameOf(profile)}</span> <span id="role" class="role-badge">
        ${ROLE_NAMES[profile.role] || profile.role || ""}</span></span>
      <button type="button" id="logout" class="btn btn-ghost" onClick=${() => act.signOut()}>Log out</button>
    </div>
  </header>`;
}

/** @param {{state: ConsoleState}} props */
function EditorHome(props) {
  const profile = /** @type {import("../common/session.js").Profile} */ (props.state.profile);
  return html`<div id="panel-editor-only" class="page editor-home">
    <div class="editor-card">
      <h2>Welcome, <span id="editor-name">${nameOf(profile)}</span></h2>
      <p>Your account edits the assistant's answers. Live chats, tickets and the dashboard are for agents.</p>
      <a class="btn btn-primary" href="/console/editor">Open the FAQ editor</a>
    </div>
  </div>`;
}

/** @param {{state: ConsoleState, act: Actions}} props */
function Workspace(props) {
  const state = props.state;
  const act = props.act;
  const selected = state.selected ? conversationOf(state, state.selected) : null;
  const earlier = selected ? earlierQuery(selected.packet, selected.fields) : "";
  return html`<${TabPanel} name="chats" selected=${state.tab} className="workspace">
    <aside class="col-left" aria-label="Queue and my chats">
      <${QueueSection} state=${state} act=${act} />
      <${MineSection} state=${state} act=${act} />
      <${RecentSection} state=${state} act=${act} />
    </aside>
    <section class="col-main" aria-label="Conversation">
      <${Chat} state=${state} act=${act} />
    </section>
    <aside class="col-right" aria-label="Handoff packet">
      <h2 class="section-title">Handoff packet</h2>
      <${Packet} conversation=${selected} />
      <${OrderPanel} cid=${state.selected} panel=${state.selected ? state.orders[state.selected] : undefined} act=${act} />
      <${EarlierConversations} state=${state} act=${act} query=${earlier} />
    </aside>
  <//>`;
}

/** @param {{state: ConsoleState, act: Actions}} props */
export function App(props) {
  const state = props.state;
  const act = props.act;
  if (state.view === "booting") return null;
  if (state.view === "login" || !state.profile) {
    return html`<${SignIn} subtitle="Sign in to the agent console" signIn=${act.signIn} />`;
  }
  const chats = mayChat(state.profile.role);
  return html`<div id="app-view" class="app" data-chimes=${state.chimes ? String(state.chimes) : undefined}>
    <${TopBar} state=${state} act=${act} />
    <${Toast} toast=${state.toast} />
    <main class="panels">
      ${chats
        ? html`
            <${Workspace} state=${state} act=${act} />
            <${TabPanel} name="history" selected=${state.tab} className="page history-page">
              <${History} history=${state.history} act=${act} />
            <//>
            <${TabPanel} name="tickets" selected=${state.tab} className="page">
              <${Tickets} tickets=${state.tickets} act=${act} />
            <//>
            <${TabPanel} name="dashboard" selected=${state.tab} className="page">
              <${Dashboard} stats=${state.stats} days=${state.statsDays} act=${act} />
            <//>
            ${state.profile.role === "admin"
              ? html`<${TabPanel} name="privacy" selected=${state.tab} className="page privacy-page">
                  <${Privacy} privacy=${state.privacy} act=${act} />
                <//>`
              : null}
            ${state.profile.role === "admin" && state.mail.available
              ? html`<${TabPanel} name="mail" selected=${state.tab} className="page mail-page">
                  <${Mail} mail=${state.mail} act=${act} />
                <//>`
              : null}`
        : html`<${EditorHome} state=${state} />`}
    </main>
  </div>`;
}
