// The History tab: past conversations from the archive. A search form (text, order number,
// customer email, tag, dates), the results as a keyed list a page at a time ("Show older" adds
// the next), and the conversation opened from it:
// its transcript drawn like a live one (read-only, not a live region: nothing in it is news), the
// handoff packet, the wrap-up and the rating. Also the "Customer history" of the live chat on
// screen, for the packet column: who the customer is (by name and verified order), their earlier
// conversations with their ratings, and the messages they left.
import { fieldOf } from "../common/forms.js";
import { html, useState } from "../common/view.js";
import { dateTimeText, gistOf, outcomeText, ratingText, reasonText } from "./archive.js";
import { customerWho, earlierShown, ratingsText, verifiedOrderOf } from "./earlier.js";
import { FILTER_NAMES, searchStatusText } from "./history_search.js";
import { PacketDetails } from "./packet.js";
import { conversationOf } from "./state.js";
import { EntryRow } from "./transcript.js";
import { sentence, shortId } from "./words.js";

/**
 * @typedef {import("./state.js").ConsoleState} ConsoleState
 * @typedef {import("./history_search.js").HistoryState} HistoryState
 * @typedef {import("./archive.js").ArchivedSummary} ArchivedSummary
 * @typedef {import("./archive.js").ArchivedConversation} ArchivedConversation
 * @typedef {import("./history_search.js").SearchFilters} SearchFilters
 * @typedef {import("./controller.js").Actions} Actions
 */

/** The search form's fields: name (the query parameter), label, input type, hint. */
const FIELDS = [
  ["q", "Text", "search", "Words in the chat or the agent's notes"],
  ["order", "Order number", "text", "HG-10042"],
  ["email", "Customer email", "email", ""],
  ["tag", "Tag", "text", ""],
  ["from", "From", "date", ""],
  ["to", "To", "date", ""],
];

/**
 * Arrow keys move between the buttons of a list (as well as Tab): the results are read one
 * after the other.
 * @param {KeyboardEvent} event
 */
function moveInList(event) {
  const keys = ["ArrowDown", "ArrowUp", "Home", "End"];
  if (!keys.includes(event.key)) return;
  const list = /** @type {HTMLElement} */ (event.currentTarget);
  const buttons = /** @type {HTMLElement[]} */ ([...list.querySelectorAll("button.history-item")]);
  if (!buttons.length) return;
  const at = buttons.indexOf(/** @type {HTMLElement} */ (document.activeElement));
  let next = 0;
  if (event.key === "End") next = buttons.length - 1;
  else if (event.key === "ArrowDown") next = at < 0 ? 0 : Math.min(buttons.length - 1, at + 1);
  else if (event.key === "ArrowUp") next = at < 0 ? 0 : Math.max(0, at - 1);
  event.preventDefault();
  buttons[next].focus();
}

/** @param {{c: ArchivedSummary, selected: boolean, open: (id: string) => void}} props */
function ResultItem(props) {
  const c = props.c;
  const tags = c.tags || [];
  const reason = reasonText(c);
  const meta = [c.agent ? `Agent: ${c.agent}` : "No agent", c.order_number ? `Order ${c.order_number}` : "", ratingText(c.rating)]
    .filter(Boolean)
    .join(" · ");
  return html`<button type="button" class=${props.selected ? "history-item selected" : "history-item"}
    data-id=${c.id} aria-current=${props.selected ? "true" : undefined} onClick=${() => props.open(c.id)}>
    <span class="history-item-top">
      <span class="history-when">${dateTimeText(c.last_activity_at || c.started_at)}</span>
      <span class=${`history-outcome outcome-${c.state === "closed" ? "closed" : "open"}`}>${outcomeText(c)}</span>
    </span>
    <span class="history-gist">${gistOf(c)}</span>
    <span class="history-meta">${reason ? `${reason} · ${meta}` : meta}</span>
    ${tags.length ? html`<span class="tag-row">${tags.map((t) => html`<span class="tag">${t}</span>`)}</span>` : null}
  </button>`;
}

/** @param {{history: HistoryState}} props */
function SearchStatus(props) {
  return html`<p id="history-status" class="history-status" role="status">${searchStatusText(props.history)}</p>`;
}

/**
 * "Show older": the next page of the search, added after the results. The keyboard then goes on
 * from the first conversation added, where the reader's next line is (also when the button goes
 * with the last page); a reader who went elsewhere meanwhile keeps their place. A failure leaves
 * the list and the button, and says why.
 * @param {{history: HistoryState, act: Actions}} props
 */
function ShowOlder(props) {
  const h = props.history;
  const busyState = useState(false);
  const busy = busyState[0];
  if (h.status !== "done" || !h.next) return null;

  /** @param {Event} event */
  async function older(event) {
    const button = event.currentTarget;
    if (busy) return;
    busyState[1](true);
    const first = await props.act.showOlderHistory();
    busyState[1](false);
    const active = document.activeElement;
    if (!first || (active !== button && active !== document.body && active !== null)) return;
    const row = document.querySelector(`#history-results button[data-id="${CSS.escape(first)}"]`);
    if (row instanceof HTMLElement) row.focus();
  }

  return html`<div class="history-more">
    <button type="button" id="history-older" class="btn btn-ghost" aria-busy=${busy ? "true" : undefined}
      onClick=${older}>${busy ? "Loading older conversations…" : "Show older"}</button>
    ${h.olderError ? html`<p id="history-older-error" class="form-error" role="alert">${h.olderError}</p>` : null}
  </div>`;
}

/** @param {{history: HistoryState, act: Actions}} props */
function SearchForm(props) {
  const h = props.history;
  const act = props.act;

  /** @param {Event} event */
  function search(event) {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    /** @type {Partial<SearchFilters>} */
    const filters = {};
    for (const name of FILTER_NAMES) filters[name] = fieldOf(form, name);
    act.searchHistory(filters);
  }

  /** @param {Event} event */
  function clear(event) {
    const form = /** @type {HTMLFormElement | null} */ (/** @type {HTMLButtonElement} */ (event.currentTarget).form);
    if (form) {
      for (const name of FILTER_NAMES) {
        const field = /** @type {HTMLInputElement | null} */ (form.elements.namedItem(name));
        if (field) field.value = "";
      }
    }
    act.searchHistory({});
  }

  // The Search button stays enabled while a search runs: a newer search replaces it (the reducer
  // drops the older answer by its seq). Disabled, it would also block Enter in a field (a form's
  // implicit submission needs an enabled default button), and a search typed while the tab's
  // first listing loads would be lost without a word.
  // Keyed by formVersion: filters set from elsewhere (a live chat's earlier conversations) draw
  // the form again with them; otherwise what the agent types stays as typed.
  return html`<form id="history-form" key=${`form-${h.formVersion}`} class="history-form" role="search"
    aria-label="Search past conversations" novalidate onSubmit=${search}>
    ${FIELDS.map(
      (f) => html`<div class=${`field field-${f[0]}`} key=${f[0]}>
        <label for=${`history-${f[0]}`}>${f[1]}</label>
        <input id=${`history-${f[0]}`} name=${f[0]} type=${f[2]} defaultValue=${h.filters[/** @type {keyof SearchFilters} */ (f[0])]}
          placeholder=${f[3] || undefined} maxlength="200" autocomplete="off" />
      </div>`,
    )}
    <div class="history-form-actions">
      <button type="submit" id="history-search" class="btn btn-primary">Search</button>
      <button type="button" id="history-clear" class="btn btn-ghost" onClick=${clear}>Clear</button>
    </div>
  </form>`;
}

/** @param {{entries: import("./state.js").Entry[]}} props */
function ArchivedTranscript(props) {
  const entries = props.entries;
  return html`<div id="history-transcript" class="transcript history-transcript" role="region"
    aria-label="Transcript" tabindex="0">
    ${entries.length
      ? entries.map((e) => html`<${EntryRow} key=${e.id} entry=${e} />`)
      : html`<p class="empty">The transcript is empty.</p>`}
  </div>`;
}

/**
 * @param {{label: string, value: unknown}} props
 */
function Fact(props) {
  if (props.value == null || props.value === "") return null;
  return [html`<dt>${props.label}</dt>`, html`<dd>${String(props.value)}</dd>`];
}

/** @param {{c: ArchivedConversation}} props */
function Opened(props) {
  const c = props.c;
  const tags = c.tags || [];
  const packet = c.packet && Object.keys(c.packet).length ? c.packet : null;
  return html`<div class="history-body">
    <${ArchivedTranscript} entries=${c.transcript} />
    <div class="history-facts">
      <section class="packet-section">
        <h4>Outcome</h4>
        <dl class="slots">
          <${Fact} label="Outcome" value=${outcomeText(c)} />
          <${Fact} label="Started" value=${dateTimeText(c.started_at)} />
          <${Fact} label="Last activity" value=${dateTimeText(c.last_activity_at)} />
          <${Fact} label="Closed" value=${dateTimeText(c.closed_at)} />
          <${Fact} label="Team" value=${c.team} />
          <${Fact} label="Agent" value=${c.agent} />
          <${Fact} label="Order" value=${c.order_number} />
          <${Fact} label="Customer email" value=${c.customer_email} />
        </dl>
      </section>
      <section class="packet-section" id="history-rating">
        <h4>Rating</h4>
        <p class="history-rating">${ratingText(c.rating)}</p>
        ${c.rating_comment ? html`<p class="wrap-notes">${c.rating_comment}</p>` : null}
      </section>
      <section class="packet-section wrap-up" id="history-wrap-up">
        <h4>Notes and tags</h4>
        ${c.notes ? html`<p class="wrap-notes">${c.notes}</p>` : html`<p class="muted">No notes</p>`}
        ${tags.length
          ? html`<div class="tag-row">${tags.map((t) => html`<span class="tag" key=${t}>${t}</span>`)}</div>`
          : html`<p class="muted">No tags</p>`}
      </section>
      <section class="packet-section history-packet" id="history-packet">
        <h4>Handoff packet</h4>
        ${packet ? html`<${PacketDetails} packet=${packet} level=${5} />` : html`<p class="muted">Not handed to a person.</p>`}
      </section>
    </div>
  </div>`;
}

/** @param {{history: HistoryState, act: Actions}} props */
function Detail(props) {
  const h = props.history;
  const act = props.act;
  if (!h.open) {
    return html`<div class="history-detail history-none">
      <p class="chat-empty-title">No conversation open</p>
      <p class="muted">Search, then pick a conversation to read its transcript.</p>
    </div>`;
  }
  const c = h.opened;
  return html`<article class="history-detail" aria-labelledby="history-title">
    <header class="history-head">
      <div>
        <h3 id="history-title" class="chat-title" tabindex="-1">Conversation ${shortId(h.open)}</h3>
        <p class="chat-sub">${c ? [dateTimeText(c.started_at), outcomeText(c), reasonText(c)].filter(Boolean).join(" · ") : ""}</p>
      </div>
      <button type="button" class="btn btn-ghost btn-sm" id="history-close" aria-label="Close this conversation"
        onClick=${() => act.closeArchived()}>Close</button>
    </header>
    ${h.openStatus === "loading" ? html`<p class="history-status" role="status">Loading the conversation…</p>` : null}
    ${h.openStatus === "error" ? html`<p id="history-open-error" class="form-error" role="alert">${h.openError}</p>` : null}
    ${c ? html`<${Opened} c=${c} />` : null}
  </article>`;
}

/** @param {{history: HistoryState, act: Actions}} props */
export function History(props) {
  const h = props.history;
  const act = props.act;
  return html`
    <div class="page-head">
      <h2>History</h2>
    </div>
    <div class="history">
      <div class="history-search">
        <${SearchForm} history=${h} act=${act} />
        <${SearchStatus} history=${h} />
        <p id="history-error" class="form-error" role="alert" hidden=${h.status !== "error"}>${h.error}</p>
        <ul id="history-results" class="list history-results" aria-label="Past conversations" onKeyDown=${moveInList}>
          ${h.results.map(
            (c) => html`<li key=${c.id} data-key=${c.id}>
              <${ResultItem} c=${c} selected=${c.id === h.open} open=${act.openArchived} />
            </li>`,
          )}
        </ul>
        <${ShowOlder} history=${h} act=${act} />
      </div>
      <${Detail} history=${h} act=${act} />
    </div>
  `;
}

/**
 * Beside a live chat: who the customer is (their name and the order they verified; never an
 * email) and their earlier conversations, each opening in the History tab.
 * @param {{state: ConsoleState, act: Actions, query: string}} props
 */
export function EarlierConversations(props) {
  const state = props.state;
  const act = props.act;
  const query = props.query;
  const cid = state.selected;
  if (!cid || !query) return null;
  const stored = state.earlier[cid];
  const earlier = stored && stored.query === query ? stored : undefined;
  const items = earlierShown(earlier, cid, query);
  const c = conversationOf(state, cid);
  const customer = earlier && earlier.customer;
  const who = customerWho(customer, verifiedOrderOf(c.packet, c.fields));
  // The chat's own fields name them until the service answers (both come from the verified order).
  const fields = c.fields || {};
  const name = (customer && customer.name) || (typeof fields.customer_name === "string" ? fields.customer_name : "");
  const tickets = (earlier && earlier.tickets) || [];
  const rated = ratingsText(earlier && earlier.ratings);
  let note = "";
  if (!earlier || (earlier.status === "loading" && !items.length)) note = "Looking in the archive…";
  else if ((earlier.status === "error" || earlier.archive === "unavailable") && !items.length) note = "The archive could not be searched just now.";
  else if (earlier.archive === "off") note = "The conversation archive is turned off.";
  else if (!items.length) note = `No earlier conversations for ${who}.`;
  return html`<section class="packet-section earlier" id="earlier" aria-labelledby="earlier-title">
    <h3 id="earlier-title">Customer history</h3>
    ${name ? html`<p class="customer-name" id="customer-name">${name}</p>` : null}
    <p class="muted small" id="customer-who">By ${who}</p>
    ${rated ? html`<p class="small" id="customer-ratings">${rated}</p>` : null}
    ${note ? html`<p class="empty" id="earlier-note">${note}</p>` : null}
    <ul class="list" id="earlier-list" aria-label="Earlier conversations">
      ${items.map(
        (e) => html`<li key=${e.id} data-key=${e.id}>
          <button type="button" class="mine-item earlier-item" data-id=${e.id} onClick=${() => act.openEarlier(e.id, query)}>
            <span class="mine-title">${dateTimeText(e.last_activity_at || e.started_at)} · ${outcomeText(e)}</span>
            <span class="mine-last">${e.rating ? `${ratingText(e.rating)} · ` : ""}${gistOf(e)}</span>
          </button>
        </li>`,
      )}
    </ul>
    ${tickets.length
      ? html`<h4 class="earlier-tickets-title" id="tickets-title">Messages they left</h4>
          <ul class="list earlier-tickets" id="customer-tickets" aria-labelledby="tickets-title">
            ${tickets.map(
              (t) => html`<li key=${t.id} class="earlier-ticket">
                <span class="mine-title">${dateTimeText(Number(t.at) || 0)} · ${t.status === "open" ? "Open" : sentence(String(t.status || ""))}</span>
                <span class="mine-last">${String(t.text || "").slice(0, 140)}</span>
              </li>`,
            )}
          </ul>`
      : null}
  </section>`;
}
