import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_BRAND, contrastWithWhite, parseHex, readableColour } from "./colour.js";

test("a brand colour that already carries white text is kept as it is", () => {
  assert.equal(readableColour("#0b5d6b"), "#0b5d6b");
  assert.equal(readableColour("000"), "#000000");
  assert.equal(readableColour("  #1A2B3C "), "#1a2b3c");
});

test("a light brand colour is darkened until white text on it reaches 4.5:1", () => {
  for (const light of ["#7fd3e0", "#ffcc00", "#fff", "#ff8800", "#8fbc8f"]) {
    const darker = readableColour(light);
    assert.notEqual(darker, light);
    const rgb = parseHex(darker);
    assert.ok(rgb, darker);
    assert.ok(contrastWithWhite(rgb) >= 4.5, `${light} -> ${darker}: ${contrastWithWhite(rgb)}`);
    // Only as far as needed: one step less dark would still be below AA.
    const lighter = /** @type {number[]} */ (rgb).map((v) => Math.min(255, Math.ceil(v / 0.92)));
    assert.ok(contrastWithWhite(lighter) < 4.5, `${light} darkened too far to ${darker}`);
  }
});

test("the shop's light teal keeps its hue: blue stays the strongest channel", () => {
  const rgb = /** @type {number[]} */ (parseHex(readableColour("#7fd3e0")));
  assert.ok(rgb[2] > rgb[1] && rgb[1] > rgb[0], String(rgb));
});

test("anything that is not #rgb or #rrggbb gets the default colour", () => {
  for (const bad of ["", "red", "#12345", "#ggg", "rgb(0,0,0)", undefined, null]) {
    assert.equal(readableColour(bad), DEFAULT_BRAND, String(bad));
  }
  assert.deepEqual(parseHex("#abc"), [0xaa, 0xbb, 0xcc]);
  assert.equal(parseHex("abcd"), null);
});

test("contrast against white follows WCAG: black 21:1, white 1:1", () => {
  assert.equal(Math.round(contrastWithWhite([0, 0, 0]) * 100) / 100, 21);
  assert.equal(contrastWithWhite([255, 255, 255]), 1);
});
