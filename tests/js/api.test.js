import assert from "node:assert/strict";
import { afterEach, test } from "node:test";

import { ApiError, NETWORK_MESSAGE, STATUS_MESSAGES, api, errorMessage } from "../../static/orgdash/lib/api.js";

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

const answer = (status, body, type = "application/json") =>
  new Response(body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: type ? { "Content-Type": type } : {},
  });

test("the API's own detail is the message", () => {
  assert.equal(errorMessage(409, { detail: "At least one active admin must remain." }), "At least one active admin must remain.");
});

test("a status without a detail gets a sentence of its own", () => {
  assert.equal(errorMessage(401, null), STATUS_MESSAGES[401]);
  assert.equal(errorMessage(403, {}), STATUS_MESSAGES[403]);
  assert.equal(errorMessage(502, null), "The server could not complete the request (502). Try again in a moment.");
  assert.equal(errorMessage(404, null, { 404: "That user no longer exists." }), "That user no longer exists.");
  assert.equal(errorMessage(401, null, { 404: "That user no longer exists." }), STATUS_MESSAGES[401]);
});

test("an invalid request keeps its field errors", async () => {
  const body = { detail: "Invalid input.", errors: { after_days: ["Ensure this value is at least 30."] } };
  globalThis.fetch = async () => answer(400, body);
  const error = await api("/api/v1/settings/dormancy/").catch((e) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 400);
  assert.equal(error.message, "Invalid input.");
  assert.deepEqual(error.errors, body.errors);
  assert.equal(error.data.detail, "Invalid input.");
});

test("an error page that is not JSON still reads as a sentence", async () => {
  globalThis.fetch = async () => answer(500, "<h1>Server Error</h1>", "text/html");
  const error = await api("/api/v1/users/").catch((e) => e);
  assert.equal(error.status, 500);
  assert.equal(error.message, "The server could not complete the request (500). Try again in a moment.");
  assert.deepEqual(error.errors, {});
});

test("no network is said as such", async () => {
  globalThis.fetch = async () => {
    throw new TypeError("Failed to fetch");
  };
  const error = await api("/api/v1/users/").catch((e) => e);
  assert.equal(error.status, 0);
  assert.equal(error.message, NETWORK_MESSAGE);
});

test("an aborted request rejects with the abort, not an error to show", async () => {
  globalThis.fetch = async (url, { signal }) => {
    signal.throwIfAborted();
    return answer(200, {});
  };
  const controller = new AbortController();
  controller.abort();
  const error = await api("/api/v1/users/", { signal: controller.signal }).catch((e) => e);
  assert.equal(error.name, "AbortError");
});

test("JSON answers resolve to their body, empty ones to null; polling is marked", async () => {
  const seen = [];
  globalThis.fetch = async (url, options) => {
    seen.push(options.headers);
    return url.endsWith("/gone/") ? answer(204, undefined, null) : answer(200, { count: 2 });
  };
  assert.deepEqual(await api("/api/v1/users/", { background: true }), { count: 2 });
  assert.equal(await api("/api/v1/gone/"), null);
  assert.equal(seen[0]["X-Orgdash-Background"], "1");
  assert.equal(seen[1]["X-Orgdash-Background"], undefined);
  assert.equal(seen[0].Accept, "application/json");
});
