// The Tickets tab: messages customers left when nobody was available, newest first.
import { html } from "../common/view.js";
import { classSafe, shortId } from "./words.js";

/**
 * @typedef {import("./state.js").Ticket} Ticket
 * @typedef {import("./controller.js").Actions} Actions
 */

/** @param {{tickets: Ticket[] | null, act: Actions}} props */
export function Tickets(props) {
  const tickets = props.tickets;
  const act = props.act;
  const list = tickets || [];
  return html`
    <div class="page-head">
      <h2>Tickets</h2>
      <button type="button" class="btn btn-ghost" id="tickets-refresh" onClick=${() => act.loadTickets()}>Refresh</button>
    </div>
    <table class="table">
      <thead><tr><th scope="col">Received</th><th scope="col">Email</th><th scope="col">Message</th><th scope="col">Status</th><th scope="col">Conversation</th></tr></thead>
      <tbody id="tickets-body">
        ${list.map((t, i) => {
          const status = t.status || "open";
          return html`<tr key=${t.id || i}>
            <td class="nowrap">${t.at ? new Date(Number(t.at)).toLocaleString() : ""}</td>
            <td>${t.email}</td>
            <td class="ticket-text">${t.text}</td>
            <td><span class=${`status status-${classSafe(status)}`}>${status}</span></td>
            <td class="mono">${shortId(String(t.conversation || ""))}</td>
          </tr>`;
        })}
      </tbody>
    </table>
    <p id="tickets-empty" class="empty" hidden=${!tickets || list.length > 0}>No tickets yet.</p>
  `;
}
