// A JSON websocket that comes back by itself: the customer widget and the agent console both
// hold one open for as long as the page lives. A dropped socket is retried after a growing,
// jittered delay; a socket that stops answering pings is abandoned and replaced (a half-open
// TCP connection can look alive for minutes). What a drop means (sign out, start over, retry) is
// the page's decision, through `onDrop`.
import { jittered, nextDelay } from "./backoff.js";

/**
 * @typedef {{
 *   url: () => string,
 *   onOpen?: (socket: ReconnectingSocket) => void,
 *   onFrame: (frame: Record<string, any>) => void,
 *   onDrop?: (code: number) => ("retry" | "stop"),
 *   onRetryScheduled?: (wait: number, delay: number) => void,
 *   beforeRetry?: () => Promise<boolean>,
 *   limits?: import("./backoff.js").BackoffLimits,
 *   pingEvery?: number,
 *   pongWithin?: number,
 *   createSocket?: (url: string) => WebSocket,
 *   random?: () => number,
 * }} SocketOptions
 */

/** Close code for a socket we stopped trusting (no pong in time, or the browser went offline). */
export const ABANDONED = 1006;

export class ReconnectingSocket {
  /** @param {SocketOptions} options */
  constructor(options) {
    this.options = options;
    this.limits = options.limits || { min: 500, max: 10000 };
    /** @type {WebSocket | null} */
    this.socket = null;
    /** The delay the next retry will use (0: none yet). */
    this.delay = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.retryTimer = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.pingTimer = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.pongTimer = null;
    this.stopped = true;
  }

  /** Open the socket unless it is open or a retry is already scheduled. */
  start() {
    this.stopped = false;
    if (this.socket || this.retryTimer) return;
    this.open();
  }

  /** Close for good: no retry until `start()` again. */
  stop() {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close();
    }
  }

  /** Retry at once with the shortest delay (the customer pressed "retry", the network is back). */
  retryNow() {
    this.delay = 0;
    if (this.socket || this.stopped) return;
    this.open();
  }

  /** @returns {boolean} whether the socket is open */
  get isOpen() {
    return !!this.socket && this.socket.readyState === 1;
  }

  /**
   * Send a frame; false when the socket is not open (the caller decides what to tell the user).
   * @param {Record<string, any>} frame
   */
  send(frame) {
    if (!this.socket || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /** The server answered a ping: the connection is alive. */
  alive() {
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  /** The page is told the socket is dead (went offline): abandon it and retry. */
  abandon() {
    const socket = this.socket;
    if (!socket) return;
    socket.onclose = null;
    try {
      socket.close();
    } catch {
      // already closing
    }
    this.dropped(socket, ABANDONED);
  }

  /** The connection has greeted us properly: the next drop starts from the shortest delay. */
  settled() {
    this.delay = 0;
  }

  /** @private */
  open() {
    this.clearTimers();
    const create = this.options.createSocket || ((url) => new WebSocket(url));
    let socket;
    try {
      socket = create(this.options.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.startPinging(socket);
      if (this.options.onOpen) this.options.onOpen(this);
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      let frame;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (frame && typeof frame === "object" && !Array.isArray(frame)) this.options.onFrame(frame);
    };
    socket.onclose = (event) => this.dropped(socket, event.code);
    socket.onerror = () => {
      // onclose follows
    };
  }

  /**
   * @private
   * @param {WebSocket} socket
   * @param {number} code
   */
  dropped(socket, code) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.clearTimers();
    const verdict = this.options.onDrop ? this.options.onDrop(code) : "retry";
    if (verdict === "stop" || this.stopped) {
      this.stopped = true;
      return;
    }
    this.scheduleRetry();
  }

  /** @private */
  scheduleRetry() {
    if (this.retryTimer || this.stopped) return;
    this.delay = nextDelay(this.delay, this.limits);
    const wait = jittered(this.delay, this.options.random);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.retry();
    }, wait);
    if (this.options.onRetryScheduled) this.options.onRetryScheduled(wait, this.delay);
  }

  /** @private */
  async retry() {
    if (this.stopped) return;
    if (this.options.beforeRetry && !(await this.options.beforeRetry())) {
      this.stopped = true;
      return;
    }
    if (!this.stopped && !this.socket) this.open();
  }

  /**
   * @private
   * @param {WebSocket} socket
   */
  startPinging(socket) {
    const every = this.options.pingEvery;
    if (!every) return;
    const within = this.options.pongWithin || 10000;
    this.pingTimer = setInterval(() => {
      if (this.socket !== socket) return;
      socket.send(JSON.stringify({ type: "ping" }));
      if (this.pongTimer) clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.abandon(), within);
    }, every);
  }

  /** @private */
  clearTimers() {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.pongTimer) clearTimeout(this.pongTimer);
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
  }
}
