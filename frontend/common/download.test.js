import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "./api.js";
import { filenameOf, postForDownload } from "./download.js";

test("the file name comes from Content-Disposition, the extended form first", () => {
  assert.equal(filenameOf('attachment; filename="harbor-export-20261206-101500.json"', "x.json"), "harbor-export-20261206-101500.json");
  assert.equal(filenameOf("attachment; filename=plain.json", "x.json"), "plain.json");
  assert.equal(filenameOf(`attachment; filename="a.json"; filename*=UTF-8''caf%C3%A9.json`, "x.json"), "café.json");
  assert.equal(filenameOf(null, "x.json"), "x.json");
  assert.equal(filenameOf("attachment", "x.json"), "x.json");
});

test("a file name cannot name a folder or hide itself", () => {
  assert.equal(filenameOf('attachment; filename="../../etc/passwd"', "x.json"), "_.._etc_passwd");
  assert.equal(filenameOf('attachment; filename="..."', "x.json"), "x.json");
});

test("the download is a POST with the CSRF token; a refusal is an ApiError with the server's message", async () => {
  /** @type {any[]} */
  const calls = [];
  const ok = await postForDownload("/api/privacy/export", { email: "a@b.c" }, "tok", "export.json", async (path, init) => {
    calls.push({ path, init });
    return /** @type {any} */ ({
      ok: true,
      status: 200,
      headers: new Headers({ "Content-Disposition": 'attachment; filename="harbor-export-1.json"' }),
      blob: async () => new Blob(['{"subject": {}}']),
    });
  });
  assert.equal(calls[0].init.method, "POST");
  assert.equal(calls[0].init.headers["X-CSRF-Token"], "tok");
  assert.equal(calls[0].init.body, '{"email":"a@b.c"}');
  assert.equal(ok.filename, "harbor-export-1.json");
  assert.equal(await ok.blob.text(), '{"subject": {}}');

  const refused = postForDownload("/api/privacy/export", {}, "tok", "export.json", async () =>
    /** @type {any} */ ({ ok: false, status: 400, json: async () => ({ error: "Bad Request", message: "give exactly one" }) }),
  );
  await assert.rejects(refused, (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.equal(error.message, "give exactly one");
    return true;
  });
  const offline = postForDownload("/api/privacy/export", {}, null, "export.json", async () => {
    throw new TypeError("Failed to fetch");
  });
  await assert.rejects(offline, (error) => error instanceof ApiError && error.status === 0);
});
