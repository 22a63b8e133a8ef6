import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, createApi } from "./api.js";

/** @param {number} status @param {unknown} body */
function answer(status, body) {
  return /** @type {any} */ ({ ok: status < 400, status, json: async () => body });
}

test("changes carry the CSRF token, reads do not", async () => {
  /** @type {any[]} */
  const calls = [];
  const api = createApi(() => "tok", async (path, init) => {
    calls.push({ path, init });
    return answer(200, { ok: true });
  });
  await api("GET", "/api/me");
  await api("POST", "/api/logout", {});
  assert.equal(calls[0].init.headers["X-CSRF-Token"], undefined);
  assert.equal(calls[1].init.headers["X-CSRF-Token"], "tok");
  assert.equal(calls[1].init.body, "{}");
  assert.equal(calls[1].init.headers["Content-Type"], "application/json");
});

test("a refusal is an ApiError with the server's own message and status", async () => {
  const api = createApi(() => null, async () => answer(409, { error: "claimed", message: "Someone else took it." }));
  await assert.rejects(api("POST", "/api/claim", {}), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 409);
    assert.equal(error.message, "Someone else took it.");
    return true;
  });
});

test("a refusal without a JSON body still names its status", async () => {
  const api = createApi(() => null, async () => /** @type {any} */ ({
    ok: false, status: 502, json: async () => { throw new SyntaxError("not json"); },
  }));
  await assert.rejects(api("GET", "/api/stats"), /Request failed \(502\)/);
});

test("no answer at all is status 0 with one wording", async () => {
  const api = createApi(() => null, async () => { throw new TypeError("Failed to fetch"); });
  await assert.rejects(api("GET", "/api/me"), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 0);
    assert.match(error.message, /cannot be reached/);
    return true;
  });
});
