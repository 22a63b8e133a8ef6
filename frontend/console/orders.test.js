import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, UNREACHABLE } from "../common/api.js";
import {
  UNAVAILABLE_TEXT,
  createOrderLoader,
  failedLookup,
  mentionedOrders,
  mentionsOrder,
  orderFacts,
  ordersReducer,
} from "./orders.js";
import { initialState, reduce } from "./state.js";

/** @typedef {import("./orders.js").OrderAction} OrderAction */

const SHIPPED = {
  order_number: "HG-10008",
  customer_name: "Lucas Müller",
  state: "shipped",
  placed: "2026-10-24",
  items: ["2 x Ceramic mug set", "1 x Camping lantern"],
  total: "337.56",
  currency: "USD",
  carrier: "UPS",
  tracking_number: "UP7713212391",
  estimated_delivery: "2026-10-29",
  delivered: null,
  refund_status: null,
  verified: false,
};

test("a message mentions an order in the spellings the server counts, not a bare ZIP code", () => {
  assert.ok(mentionsOrder("where is HG-10042?"));
  assert.ok(mentionsOrder("hg 10042 please"));
  assert.ok(mentionsOrder("HG10042"));
  assert.ok(!mentionsOrder("my zip is 10042"));
  assert.ok(!mentionsOrder("HG-1004"));
  assert.ok(!mentionsOrder(undefined));
});

test("the listed orders keep their verified flag and drop what is malformed", () => {
  const listed = mentionedOrders({
    orders: [{ order_number: "HG-10001", verified: true }, { order_number: "HG-10008", verified: "yes" }, { verified: true }, null],
  });
  assert.deepEqual(listed, [
    { order_number: "HG-10001", verified: true },
    { order_number: "HG-10008", verified: false },
  ]);
  assert.deepEqual(mentionedOrders({}), []);
  assert.deepEqual(mentionedOrders(null), []);
});

test("an order's facts read in order, with what it lacks left out", () => {
  const facts = orderFacts(SHIPPED);
  assert.deepEqual(
    facts.map((f) => f[0]),
    ["State", "Customer", "Placed", "Items", "Total", "Carrier", "Tracking number", "Estimated delivery"],
  );
  assert.deepEqual(facts[0], ["State", "Shipped"]);
  assert.deepEqual(facts[3], ["Items", "2 x Ceramic mug set; 1 x Camping lantern"]);
  assert.deepEqual(facts[4], ["Total", "337.56 USD"]);
  const refunded = orderFacts({ order_number: "HG-1", refund_status: "in_progress", state: "returned" });
  assert.deepEqual(refunded, [
    ["State", "Returned"],
    ["Refund", "In progress"],
  ]);
});

test("a failed lookup says not found, store unavailable (retry) or the server's words", () => {
  const missing = failedLookup(new ApiError("No order HG-99999 in the order store.", 404, { error: "no_such_order" }), "HG-99999");
  assert.equal(missing.status, "missing");
  assert.match(missing.message, /^Not found: there is no order HG-99999/);
  const down = failedLookup(new ApiError("x", 503, { error: "orders_unavailable" }), "HG-10008");
  assert.deepEqual(down, { status: "unavailable", order: null, message: UNAVAILABLE_TEXT });
  assert.equal(failedLookup(new ApiError(UNREACHABLE, 0, {}), "HG-10008").message, UNREACHABLE);
  const refused = failedLookup(new ApiError("This conversation does not mention HG-1.", 404, { error: "not_mentioned" }), "HG-1");
  assert.deepEqual(refused, { status: "error", order: null, message: "This conversation does not mention HG-1." });
});

test("the reducer keeps each chat's panel: listing again keeps what was opened and looked up", () => {
  let panels = ordersReducer({}, { type: "orders-loading", conversation: "c1" });
  assert.equal(panels.c1.status, "loading");
  panels = ordersReducer(panels, { type: "orders", conversation: "c1", orders: [{ order_number: "HG-10008", verified: false }] });
  panels = ordersReducer(panels, { type: "order-toggle", conversation: "c1", order: "HG-10008", open: true });
  panels = ordersReducer(panels, { type: "order", conversation: "c1", order: "HG-10008", details: SHIPPED });
  panels = ordersReducer(panels, { type: "orders-loading", conversation: "c1" });
  assert.equal(panels.c1.status, "done");
  assert.ok(panels.c1.open["HG-10008"]);
  assert.equal(panels.c1.lookups["HG-10008"].status, "found");
  // A failed listing does not hide what was listed; another chat is untouched.
  panels = ordersReducer(panels, { type: "orders-failed", conversation: "c1" });
  assert.equal(panels.c1.orders.length, 1);
  panels = ordersReducer(panels, { type: "orders-failed", conversation: "c2" });
  assert.equal(panels.c2.status, "error");
  panels = ordersReducer(panels, { type: "order-toggle", conversation: "c1", order: "HG-10008", open: false });
  assert.deepEqual(panels.c1.open, {});
});

test("the console's reducer hands order actions to the panel, and signing out clears them", () => {
  let state = reduce(initialState("app"), { type: "orders", conversation: "c1", orders: [{ order_number: "HG-10001", verified: true }] });
  assert.equal(state.orders.c1.orders[0].order_number, "HG-10001");
  state = reduce(state, { type: "signed-out" });
  assert.deepEqual(state.orders, {});
});

test("the loader looks an order up when opened, not again once found, and again after a failure", async () => {
  /** @type {Record<string, import("./orders.js").OrderPanelState>} */
  let panels = {};
  /** @type {string[]} */
  const asked = [];
  let fail = true;
  let epoch = 0;
  const loader = createOrderLoader({
    async api(_method, path) {
      asked.push(path);
      if (path.endsWith("/orders")) return { orders: [{ order_number: "HG-10008", verified: false }] };
      if (fail) throw new ApiError("down", 503, { error: "orders_unavailable" });
      return { order: SHIPPED, verified: false };
    },
    dispatch(/** @type {OrderAction} */ action) {
      panels = ordersReducer(panels, action);
    },
    panel: (cid) => panels[cid],
    current: () => epoch,
  });
  await loader.list("c 1");
  assert.deepEqual(asked, ["/api/conversations/c%201/orders"]);
  loader.toggle("c 1", "HG-10008");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(panels["c 1"].lookups["HG-10008"].status, "unavailable");
  fail = false;
  loader.retry("c 1", "HG-10008");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(panels["c 1"].lookups["HG-10008"].status, "found");
  loader.toggle("c 1", "HG-10008"); // closed
  loader.toggle("c 1", "HG-10008"); // open again: already found, not asked again
  assert.equal(asked.filter((p) => p.endsWith("/HG-10008")).length, 2);
  // An answer that comes after a sign-out is dropped.
  const before = panels;
  const pending = loader.list("c2");
  epoch += 1;
  await pending;
  assert.equal(panels.c2.status, "loading");
  assert.equal(before.c2, undefined);
});
