import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { ABANDONED, ReconnectingSocket } from "./socket.js";

/** A stand-in for the browser's WebSocket: the test opens, closes and feeds it. */
class FakeSocket {
  /** @param {string} url */
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    /** @type {string[]} */
    this.sent = [];
    /** @type {any} */ this.onopen = null;
    /** @type {any} */ this.onmessage = null;
    /** @type {any} */ this.onclose = null;
    /** @type {any} */ this.onerror = null;
  }
  /** @param {string} data */
  send(data) { this.sent.push(data); }
  close() { this.readyState = 3; }
  accept() { this.readyState = 1; this.onopen(); }
  /** @param {number} code */
  drop(code) { this.readyState = 3; this.onclose({ code }); }
  /** @param {string} data */
  receive(data) { this.onmessage({ data }); }
}

function harness(/** @type {Partial<import("./socket.js").SocketOptions>} */ extra = {}) {
  /** @type {FakeSocket[]} */
  const sockets = [];
  /** @type {any[]} */
  const frames = [];
  /** @type {number[]} */
  const delays = [];
  const socket = new ReconnectingSocket({
    url: () => "ws://service/ws/agent",
    onFrame: (frame) => frames.push(frame),
    onRetryScheduled: (_wait, delay) => delays.push(delay),
    createSocket: (url) => {
      const fake = new FakeSocket(url);
      sockets.push(fake);
      return /** @type {any} */ (fake);
    },
    random: () => 1,
    ...extra,
  });
  return { socket, sockets, frames, delays };
}

test("frames arrive parsed and garbage is ignored", () => {
  const { socket, sockets, frames } = harness();
  socket.start();
  sockets[0].accept();
  sockets[0].receive('{"type":"hello"}');
  sockets[0].receive("not json");
  sockets[0].receive("[1,2]");
  assert.deepEqual(frames, [{ type: "hello" }]);
  assert.equal(socket.send({ type: "ping" }), true);
  socket.stop();
});

test("drops are retried after doubling delays, and a settled connection starts over", () => {
  mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  try {
    const { socket, sockets, delays } = harness();
    socket.start();
    for (let i = 0; i < 3; i += 1) {
      sockets[sockets.length - 1].drop(1006);
      mock.timers.tick(10000);
    }
    assert.deepEqual(delays, [500, 1000, 2000]);
    assert.equal(sockets.length, 4);
    sockets[3].accept();
    socket.settled();
    sockets[3].drop(1001);
    assert.deepEqual(delays, [500, 1000, 2000, 500]);
    socket.stop();
  } finally {
    mock.timers.reset();
  }
});

test("the page can end it: a refused session is not retried", () => {
  const { socket, sockets, delays } = harness({ onDrop: (code) => (code === 4401 ? "stop" : "retry") });
  socket.start();
  sockets[0].drop(4401);
  assert.deepEqual(delays, []);
  assert.equal(socket.send({ type: "ping" }), false);
});

test("a socket that does not answer pings is abandoned and replaced", () => {
  mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
  try {
    /** @type {number[]} */
    const codes = [];
    const { socket, sockets } = harness({ pingEvery: 1000, pongWithin: 500, onDrop: (code) => { codes.push(code); return "retry"; } });
    socket.start();
    sockets[0].accept();
    mock.timers.tick(1000);
    assert.deepEqual(sockets[0].sent, ['{"type":"ping"}']);
    socket.alive();
    mock.timers.tick(1000);
    mock.timers.tick(500);
    assert.deepEqual(codes, [ABANDONED]);
    mock.timers.tick(500);
    assert.equal(sockets.length, 2);
    socket.stop();
  } finally {
    mock.timers.reset();
  }
});
