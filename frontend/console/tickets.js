// The Tickets tab: messages customers left when nobody was available, newest first. An open
// ticket with an email address can be answered by email: "Reply by email" takes the ticket's
// conversation (POST /api/tickets/{id}/take, which assigns it to the agent) and opens it in the
// Chats tab, where what the agent writes goes to the customer by email and the customer's email
// reply comes back into the same chat, live.
import { ApiError } from "../common/api.js";
import { html } from "../common/view.js";
import { classSafe, shortId } from "./words.js";

/**
 * @typedef {import("./state.js").Ticket} Ticket
 * @typedef {import("./controller.js").Actions} Actions
 */

/**
 * Whether a ticket can be answered by email: still open, with the address the customer left.
 * @param {Ticket} t
 */
export function mayReplyByEmail(t) {
  return !!t.id && !!t.conversation && !!t.email && (t.status || "open") === "open";
}

/**
 * Why taking a ticket failed, in words.
 * @param {unknown} err
 * @returns {string}
 */
export function takeFailedText(err) {
  if (err instanceof ApiError) {
    if (err.status === 404) return "That ticket is gone (answered, or erased). Refresh the list.";
    if (err.status === 409) return err.message || "Someone else is answering this ticket.";
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Take a ticket's conversation and open it in the Chats tab.
 * @param {{
 *   api: (method: string, path: string, body?: unknown) => Promise<any>,
 *   openChat: (cid: string) => void,
 *   failed: (text: string) => void,
 * }} deps
 * @param {Ticket} ticket
 * @returns {Promise<boolean>} whether the chat was opened
 */
export async function takeTicket(deps, ticket) {
  try {
    const data = await deps.api("POST", `/api/tickets/${encodeURIComponent(String(ticket.id))}/take`, {});
    const cid = String((data && data.conversation) || ticket.conversation || "");
    if (!cid) return false;
    deps.openChat(cid);
    return true;
  } catch (err) {
    deps.failed(takeFailedText(err));
    return false;
  }
}

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
      <thead><tr><th scope="col">Received</th><th scope="col">Email</th><th scope="col">Message</th><th scope="col">Status</th><th scope="col">Conversation</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody id="tickets-body">
        ${list.map((t, i) => {
          const status = t.status || "open";
          return html`<tr key=${t.id || i} data-id=${t.id || undefined}>
            <td class="nowrap">${t.at ? new Date(Number(t.at)).toLocaleString() : ""}</td>
            <td>${t.email}</td>
            <td class="ticket-text">${t.text}</td>
            <td><span class=${`status status-${classSafe(status)}`}>${status}</span></td>
            <td class="mono">${shortId(String(t.conversation || ""))}</td>
            <td>
              ${mayReplyByEmail(t)
                ? html`<button type="button" class="btn btn-ghost btn-sm ticket-reply"
                    aria-label=${`Reply by email to ${t.email}`} onClick=${() => act.replyByEmail(t)}>Reply by email</button>`
                : null}
            </td>
          </tr>`;
        })}
      </tbody>
    </table>
    <p id="tickets-empty" class="empty" hidden=${!tickets || list.length > 0}>No tickets yet.</p>
  `;
}
