// A live chat's customer's earlier conversations, for the packet column's "Customer history":
// whose they are (only a verified order proves it), the search that finds them, which to list
// and when to look again, and their reducer slice (by live chat; state.js calls it). Pure, tested
// in Node (archive.test.js); archive_requests.js does the fetching.
import { summaryOf } from "./archive.js";
import { searchQuery } from "./history_search.js";

/**
 * @typedef {import("./archive.js").ArchivedSummary} ArchivedSummary
 * @typedef {import("./history_search.js").SearchFilters} SearchFilters
 */

/**
 * @typedef {{name: string, email?: string, verified_order: string, known_by: string}} Customer
 *   Who a live chat's customer is, as far as they proved it (GET /api/conversations/{id}/customer).
 *   An `email` there is never shown (customerWho).
 * @typedef {{id: string, at?: string, status?: string, text?: string, conversation?: string}} Ticket
 *   A message the customer left when nobody could take the chat.
 * @typedef {{count: number, average: number | null}} Ratings
 * @typedef {{query: string, status: "loading" | "done" | "error", items: ArchivedSummary[], at: number,
 *   customer?: Customer | null, tickets?: Ticket[], ratings?: Ratings, archive?: string}} Earlier
 *   A live chat's customer's earlier conversations and the search that found them (earlierQuery);
 *   kept per live chat, so that a customer's new chat looks again (their last one may have just
 *   been archived), while switching back to a chat does not.
 */

/**
 * @typedef {(
 *   | {type: "earlier-loading", conversation: string, query: string, at: number}
 *   | {type: "earlier", conversation: string, query: string, conversations: ArchivedSummary[], at: number,
 *      customer?: Customer | null, tickets?: Ticket[], ratings?: Ratings, archive?: string}
 *   | {type: "earlier-failed", conversation: string, query: string, at: number}
 *   | {type: "earlier-reset"}
 * )} EarlierAction
 */

/** How many of a customer's earlier conversations the packet column lists. */
export const EARLIER_SHOWN = 5;
/** A customer's earlier conversations are looked up again after this long (a chat closed since). */
export const EARLIER_FRESH_MS = 60000;

/**
 * The order the customer of a live chat proved is theirs: the conversation's `verified_order`
 * (set at escalation), else the handoff packet's verified order (an unverified one is never in
 * it); "" when they proved none.
 * @param {Record<string, any> | null | undefined} packet
 * @param {Record<string, any> | null | undefined} fields
 * @returns {string}
 */
export function verifiedOrderOf(packet, fields) {
  const field = fields && typeof fields.verified_order === "string" ? fields.verified_order.trim() : "";
  if (field) return field;
  const slots = packet && packet.slots && typeof packet.slots === "object" ? packet.slots : null;
  if (slots && slots.order_verified === true && typeof slots.order_number === "string") return slots.order_number.trim();
  return "";
}

/**
 * Whose earlier conversations to show beside a live chat; null when the chat does not prove who
 * the customer is. Only a verified order does: then by the customer's email (the verified
 * order's, set with it at escalation: by it a customer is recognised across all their orders),
 * else by the order itself. An email merely typed when leaving a message proves nothing (anyone
 * can type anyone's address), so without a verified order it is not looked up.
 * @param {Record<string, any> | null | undefined} packet
 * @param {Record<string, any> | null | undefined} fields
 * @returns {Partial<SearchFilters> | null}
 */
export function customerFilter(packet, fields) {
  const order = verifiedOrderOf(packet, fields);
  if (!order) return null;
  const email = fields && typeof fields.customer_email === "string" ? fields.customer_email.trim() : "";
  return email ? { email } : { order };
}

/**
 * How the customer is known, for the byline of their history: "verified order HG-10042". Never
 * by their email, even when the service's answer has one: the verified order's email is what proves
 * the order is theirs, not something for agents to read (their name is shown beside this).
 * @param {Customer | null | undefined} customer what the service said
 * @param {string} order the chat's verified order (verifiedOrderOf), until the service answers
 * @returns {string}
 */
export function customerWho(customer, order) {
  const verified = (customer && customer.verified_order) || order;
  return verified ? `verified order ${verified}` : "this customer";
}

/**
 * The search that finds a live chat's earlier conversations ("" when it names no customer).
 * @param {Record<string, any> | null | undefined} packet
 * @param {Record<string, any> | null | undefined} fields
 */
export function earlierQuery(packet, fields) {
  const filter = customerFilter(packet, fields);
  return filter ? searchQuery(filter) : "";
}

/**
 * The earlier conversations to list beside a chat: not the chat itself, the newest few; none
 * while the customer's search changed (their order was verified since) and is not answered.
 * @param {Earlier | undefined} earlier
 * @param {string} cid the live chat
 * @param {string} query the chat's search now (earlierQuery)
 * @returns {ArchivedSummary[]}
 */
export function earlierShown(earlier, cid, query) {
  if (!earlier || earlier.query !== query) return [];
  return earlier.items.filter((c) => c.id !== cid).slice(0, EARLIER_SHOWN);
}

/**
 * Whether a chat's earlier conversations should be looked up (again): never yet, for another
 * search, or a while ago.
 * @param {Earlier | undefined} earlier
 * @param {string} query
 * @param {number} now
 */
export function earlierDue(earlier, query, now) {
  if (!earlier || earlier.query !== query) return true;
  if (earlier.status === "loading") return false;
  return now - earlier.at > EARLIER_FRESH_MS;
}

/**
 * A customer's ratings in words: "Rated 3 earlier chats, 4.3/5 on average" ("" when none).
 * @param {Ratings | undefined} ratings
 */
export function ratingsText(ratings) {
  if (!ratings || !ratings.count || ratings.average == null) return "";
  const chats = ratings.count === 1 ? "1 earlier chat" : `${ratings.count} earlier chats`;
  return `Rated ${chats}, ${Number(ratings.average).toFixed(1)}/5 on average`;
}

/**
 * @param {Record<string, Earlier>} earlier
 * @param {EarlierAction} action
 * @returns {Record<string, Earlier>}
 */
export function earlierReducer(earlier, action) {
  if (action.type === "earlier-reset") return {};
  const cid = action.conversation;
  const before = earlier[cid];
  const kept = before && before.query === action.query ? before.items : [];
  // An answer for the chat's previous search is too late to show.
  if (action.type !== "earlier-loading" && (!before || before.query !== action.query)) return earlier;
  switch (action.type) {
    case "earlier-loading":
      return { ...earlier, [cid]: { query: action.query, status: "loading", items: kept, at: action.at } };
    case "earlier":
      return {
        ...earlier,
        [cid]: {
          query: action.query,
          status: "done",
          items: action.conversations.map(summaryOf),
          at: action.at,
          customer: action.customer || null,
          tickets: Array.isArray(action.tickets) ? action.tickets : [],
          ratings: action.ratings || { count: 0, average: null },
          archive: action.archive || "ok",
        },
      };
    case "earlier-failed":
      return { ...earlier, [cid]: { query: action.query, status: "error", items: kept, at: action.at } };
    default:
      return earlier;
  }
}
