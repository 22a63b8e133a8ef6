// The order panel in the packet column: the orders the chat on screen mentions, each looked up
// in the shop's order store when the agent opens it (GET /api/conversations/{id}/orders and
// .../orders/{number}; handoff/console/orders.py). Beside each order, whether the customer proved
// it is theirs, so the agent knows what they may tell the customer.
//
// Each order is looked up only when the agent opens it, not when the chat is shown: every lookup
// is audit-logged with the agent's name, so the log says which orders an agent chose to read, and
// a store that is down costs nothing until someone needs an order.
//
// Here: the panel's slice of the state (by conversation) and its reducer, its pure helpers (the
// words for an order's facts and for a failed lookup), the loader the controller calls, and the
// component. Everything is rendered as text.
import { ApiError, UNREACHABLE } from "../common/api.js";
import { html } from "../common/view.js";

/**
 * @typedef {{order_number: string, verified: boolean}} MentionedOrder
 * @typedef {{
 *   order_number: string,
 *   customer_name?: string,
 *   state?: string,
 *   placed?: string | null,
 *   items?: string[],
 *   total?: string,
 *   currency?: string,
 *   carrier?: string | null,
 *   tracking_number?: string | null,
 *   estimated_delivery?: string | null,
 *   delivered?: string | null,
 *   refund_status?: string | null,
 *   verified?: boolean,
 * }} OrderDetails
 * @typedef {"loading" | "found" | "missing" | "unavailable" | "error"} LookupStatus
 * @typedef {{status: LookupStatus, order: OrderDetails | null, message: string}} OrderLookup
 *   `missing`: the store has no such order; `unavailable`: the store (or the service) did not
 *   answer, worth a retry; `error`: refused for another reason, with the server's words.
 * @typedef {{
 *   status: "loading" | "done" | "error",
 *   orders: MentionedOrder[],
 *   open: Record<string, true>,
 *   lookups: Record<string, OrderLookup>,
 * }} OrderPanelState
 *   One chat's panel: the orders it mentions, which of them the agent opened, their lookups.
 * @typedef {(
 *   | {type: "orders-loading", conversation: string}
 *   | {type: "orders", conversation: string, orders: MentionedOrder[]}
 *   | {type: "orders-failed", conversation: string}
 *   | {type: "order-toggle", conversation: string, order: string, open: boolean}
 *   | {type: "order-loading", conversation: string, order: string}
 *   | {type: "order", conversation: string, order: string, details: OrderDetails}
 *   | {type: "order-failed", conversation: string, order: string, lookup: OrderLookup}
 * )} OrderAction
 */

export const VERIFIED_TEXT = "Customer proved this order is theirs";
export const UNVERIFIED_TEXT = "Not verified: do not share details with the customer";
export const UNAVAILABLE_TEXT = "The order store is not available right now. The chat goes on; try again in a moment.";

// What numbers.py counts as an order number in a message (HG-10042, hg 10042, HG10042): a new
// message that mentions one makes the panel ask for the chat's orders again.
const MENTION = /\bhg[- ]?\d{5}\b/i;

/**
 * Whether a message's text mentions an order number.
 * @param {unknown} text
 */
export function mentionsOrder(text) {
  return typeof text === "string" && MENTION.test(text);
}

/** @returns {OrderPanelState} */
export function blankPanel() {
  return { status: "loading", orders: [], open: {}, lookups: {} };
}

/**
 * The orders a chat mentions, as the server listed them (anything malformed left out).
 * @param {unknown} data the answer of GET .../orders
 * @returns {MentionedOrder[]}
 */
export function mentionedOrders(data) {
  const list = data && typeof data === "object" ? /** @type {any} */ (data).orders : null;
  if (!Array.isArray(list)) return [];
  return list
    .filter((o) => o && typeof o.order_number === "string" && o.order_number)
    .map((o) => ({ order_number: String(o.order_number), verified: o.verified === true }));
}

/**
 * A failed lookup in words: whether to offer a retry follows from its status.
 * @param {unknown} err
 * @param {string} order
 * @returns {OrderLookup}
 */
export function failedLookup(err, order) {
  if (!(err instanceof ApiError)) return { status: "error", order: null, message: String(err) };
  const body = /** @type {any} */ (err.body);
  const code = body && typeof body === "object" ? body.error : "";
  if (err.status === 404 && code === "no_such_order") {
    return { status: "missing", order: null, message: `Not found: there is no order ${order} in the order store.` };
  }
  if (err.status === 503) return { status: "unavailable", order: null, message: UNAVAILABLE_TEXT };
  if (err.status === 0) return { status: "unavailable", order: null, message: UNREACHABLE };
  return { status: "error", order: null, message: err.message };
}

/**
 * "in_transit" as "In transit".
 * @param {string} word
 */
export function wordText(word) {
  const text = word.replace(/_/g, " ").trim();
  return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
}

/**
 * An order's facts as label and text, in the order an agent reads them; what the order does
 * not have (no carrier yet, no refund) is left out.
 * @param {OrderDetails} order
 * @returns {[string, string][]}
 */
export function orderFacts(order) {
  /** @type {[string, string | null | undefined][]} */
  const facts = [
    ["State", order.state ? wordText(order.state) : null],
    ["Customer", order.customer_name],
    ["Placed", order.placed],
    ["Items", Array.isArray(order.items) && order.items.length ? order.items.join("; ") : null],
    ["Total", order.total ? `${order.total} ${order.currency || ""}`.trim() : null],
    ["Carrier", order.carrier],
    ["Tracking number", order.tracking_number],
    ["Estimated delivery", order.estimated_delivery],
    ["Delivered", order.delivered],
    ["Refund", order.refund_status ? wordText(order.refund_status) : null],
  ];
  /** @type {[string, string][]} */
  const shown = [];
  for (const fact of facts) {
    if (fact[1]) shown.push([fact[0], String(fact[1])]);
  }
  return shown;
}

/**
 * @param {OrderPanelState | undefined} panel
 * @param {(panel: OrderPanelState) => OrderPanelState} change
 */
function changed(panel, change) {
  return change(panel || blankPanel());
}

/**
 * @param {Record<string, OrderPanelState>} panels by conversation
 * @param {OrderAction} action
 * @returns {Record<string, OrderPanelState>}
 */
export function ordersReducer(panels, action) {
  const cid = action.conversation;
  /** @param {(panel: OrderPanelState) => OrderPanelState} change */
  const apply = (change) => ({ ...panels, [cid]: changed(panels[cid], change) });
  switch (action.type) {
    case "orders-loading":
      // What was listed stays on screen while the list is asked for again.
      return apply((p) => ({ ...p, status: p.orders.length ? p.status : "loading" }));
    case "orders":
      return apply((p) => ({ ...p, status: "done", orders: action.orders }));
    case "orders-failed":
      return apply((p) => ({ ...p, status: p.orders.length ? p.status : "error" }));
    case "order-toggle": {
      const order = action.order;
      return apply((p) => {
        /** @type {Record<string, true>} */
        const open = { ...p.open };
        if (action.open) open[order] = true;
        else delete open[order];
        return { ...p, open };
      });
    }
    case "order-loading":
      return apply((p) => ({ ...p, lookups: { ...p.lookups, [action.order]: { status: "loading", order: null, message: "" } } }));
    case "order":
      return apply((p) => ({ ...p, lookups: { ...p.lookups, [action.order]: { status: "found", order: action.details, message: "" } } }));
    case "order-failed":
      return apply((p) => ({ ...p, lookups: { ...p.lookups, [action.order]: action.lookup } }));
    default:
      return panels;
  }
}

/**
 * The panel's requests, for the controller: `list` asks for a chat's orders, `toggle` opens an
 * order (looking it up the first time, or again after a failure) or closes it, `retry` looks it
 * up again. An answer that comes after a sign-out (`current()` changed) is dropped.
 * @param {{
 *   api: (method: string, path: string) => Promise<any>,
 *   dispatch: (action: OrderAction) => void,
 *   panel: (cid: string) => OrderPanelState | undefined,
 *   current: () => number,
 * }} deps
 */
export function createOrderLoader(deps) {
  /** @param {string} cid */
  function base(cid) {
    return `/api/conversations/${encodeURIComponent(cid)}/orders`;
  }

  /**
   * @param {string} cid
   * @param {string} order
   */
  async function lookUp(cid, order) {
    const started = deps.current();
    deps.dispatch({ type: "order-loading", conversation: cid, order });
    try {
      const data = await deps.api("GET", `${base(cid)}/${encodeURIComponent(order)}`);
      if (started !== deps.current()) return;
      deps.dispatch({ type: "order", conversation: cid, order, details: data && data.order ? data.order : { order_number: order } });
    } catch (err) {
      if (started === deps.current()) deps.dispatch({ type: "order-failed", conversation: cid, order, lookup: failedLookup(err, order) });
    }
  }

  return {
    /** @param {string} cid */
    async list(cid) {
      const started = deps.current();
      deps.dispatch({ type: "orders-loading", conversation: cid });
      try {
        const data = await deps.api("GET", base(cid));
        if (started === deps.current()) deps.dispatch({ type: "orders", conversation: cid, orders: mentionedOrders(data) });
      } catch {
        if (started === deps.current()) deps.dispatch({ type: "orders-failed", conversation: cid });
      }
    },
    /**
     * @param {string} cid
     * @param {string} order
     */
    toggle(cid, order) {
      const panel = deps.panel(cid);
      const open = !(panel && panel.open[order]);
      deps.dispatch({ type: "order-toggle", conversation: cid, order, open });
      const lookup = panel ? panel.lookups[order] : undefined;
      if (open && (!lookup || (lookup.status !== "found" && lookup.status !== "loading"))) void lookUp(cid, order);
    },
    /**
     * @param {string} cid
     * @param {string} order
     */
    retry(cid, order) {
      void lookUp(cid, order);
    },
  };
}

/**
 * @typedef {{
 *   toggleOrder: (cid: string, order: string) => void,
 *   retryOrder: (cid: string, order: string) => void,
 *   loadOrders: (cid: string) => void,
 * }} OrderActions
 */

/**
 * The id of an order's details element (order numbers are HG- and digits: safe in an id).
 * @param {string} order
 */
function bodyId(order) {
  return `order-${order.replace(/[^A-Za-z0-9-]/g, "")}`;
}

/** @param {{cid: string, order: string, lookup: OrderLookup | undefined, act: OrderActions}} props */
function OrderBody(props) {
  const lookup = props.lookup;
  const order = props.order;
  if (!lookup || lookup.status === "loading") {
    return html`<p class="empty order-loading" role="status">Looking up ${order}…</p>`;
  }
  if (lookup.status === "found" && lookup.order) {
    return html`<dl class="order-facts">
      ${orderFacts(lookup.order).map((fact) => [html`<dt>${fact[0]}</dt>`, html`<dd>${fact[1]}</dd>`])}
    </dl>`;
  }
  return html`<div class=${`order-problem order-${lookup.status}`}>
    <p role="alert">${lookup.message}</p>
    ${lookup.status === "missing"
      ? null
      : html`<button type="button" class="btn btn-ghost btn-sm order-retry"
          onClick=${() => props.act.retryOrder(props.cid, order)}>Retry</button>`}
  </div>`;
}

/** @param {{cid: string | null, panel: OrderPanelState | undefined, act: OrderActions}} props */
export function OrderPanel(props) {
  const cid = props.cid;
  if (!cid) return null;
  const act = props.act;
  const panel = props.panel || blankPanel();
  const orders = panel.orders;
  let note = "";
  if (!orders.length) {
    if (panel.status === "loading") note = "Looking for order numbers in this chat…";
    else if (panel.status === "error") note = "The orders of this chat could not be listed just now.";
    else note = "This chat mentions no order number.";
  }
  return html`<section class="packet-section order-panel" id="order-panel" aria-labelledby="orders-title">
    <h3 id="orders-title">Orders in this chat</h3>
    ${note ? html`<p class="empty" id="orders-note">${note}</p>` : null}
    ${panel.status === "error" && !orders.length
      ? html`<button type="button" class="btn btn-ghost btn-sm" id="orders-retry" onClick=${() => act.loadOrders(cid)}>Retry</button>`
      : null}
    <ul class="order-list" aria-labelledby="orders-title">
      ${orders.map((o) => {
        const number = o.order_number;
        const open = !!panel.open[number];
        return html`<li key=${number} class="order-item" data-order=${number}>
          <h4 class="order-heading">
            <button type="button" class="order-toggle" aria-expanded=${open ? "true" : "false"}
              aria-controls=${bodyId(number)} onClick=${() => act.toggleOrder(cid, number)}>
              <span class="order-caret" aria-hidden="true">${open ? "▾" : "▸"}</span>
              <span class="order-number">${number}</span>
            </button>
          </h4>
          <p class=${o.verified ? "order-verification verified" : "order-verification unverified"}>
            ${o.verified ? VERIFIED_TEXT : UNVERIFIED_TEXT}
          </p>
          <div id=${bodyId(number)} class="order-body" hidden=${!open}>
            ${open ? html`<${OrderBody} cid=${cid} order=${number} lookup=${panel.lookups[number]} act=${act} />` : null}
          </div>
        </li>`;
      })}
    </ul>
  </section>`;
}
