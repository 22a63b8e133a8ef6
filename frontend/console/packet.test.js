import assert from "node:assert/strict";
import { test } from "node:test";
import { askedOf, entitiesOf } from "./packet.js";

test("the topics asked are read from the packet, and an older packet without them has none", () => {
  const packet = {
    asked: [
      { topic: "order status", outcome: "answered", times: 2 },
      { topic: 5, outcome: "answered" },
      null,
    ],
  };
  assert.deepEqual(askedOf(packet), [{ topic: "order status", outcome: "answered", times: 2 }]);
  assert.deepEqual(askedOf({}), []);
});

test("entities the slots already show are not listed twice", () => {
  const packet = {
    entities: [
      { entity: "order_number", value: "HG-10001" },
      { entity: "order_number", value: "HG-10008" },
      { entity: "order_number", value: "HG-10008" },
      { entity: "broken" },
    ],
  };
  assert.deepEqual(entitiesOf(packet, { order_number: "HG-10001", order_verified: true }), [
    { name: "order number", value: "HG-10008" },
  ]);
});
