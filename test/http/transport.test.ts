import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeApp, PRODUCTION_BEHIND_PROXY } from "../support/app.ts";

const hits = { count: 0 };
const routes = async (app: import("fastify").FastifyInstance) => {
  app.get("/public", { config: { rampart: { auth: "public" } } }, async () => {
    hits.count++;
    return { ok: true };
  });
  app.post("/public", { config: { rampart: { auth: "public" } } }, async () => {
    hits.count++;
    return { ok: true };
  });
};

describe("transport stage", () => {
  it("refuses plain HTTP in production with 403 problem+json before the handler runs", async () => {
    const { app } = await makeApp({ env: PRODUCTION_BEHIND_PROXY, routes });
    hits.count = 0;
    const res = await app.inject({ method: "GET", url: "/public", headers: { authorization: "Bearer leaked" } });
    assert.equal(res.statusCode, 403);
    assert.match(String(res.headers["content-type"]), /^application\/problem\+json/);
    assert.equal(res.json().status, 403);
    assert.equal(res.json().requestId, res.headers["x-request-id"]);
    assert.equal(res.headers["strict-transport-security"], undefined);
    assert.equal(hits.count, 0);
    await app.close();
  });

  it("redirects GET/HEAD with 308 when the switch is on, but still refuses POST", async () => {
    const { app } = await makeApp({ env: PRODUCTION_BEHIND_PROXY, overrides: { https: { redirect: true } }, routes });
    const get = await app.inject({ method: "GET", url: "/public?x=1", headers: { host: "api.example.com" } });
    assert.equal(get.statusCode, 308);
    assert.equal(get.headers.location, "https://api.example.com/public?x=1");
    const post = await app.inject({ method: "POST", url: "/public", headers: { host: "api.example.com" } });
    assert.equal(post.statusCode, 403);
    const evilHost = await app.inject({ method: "GET", url: "/public", headers: { host: "evil.test/@x" } });
    assert.equal(evilHost.statusCode, 403, "a malformed Host never becomes a redirect target");
    await app.close();
  });

  it("believes X-Forwarded-Proto: https from a trusted proxy, and sends HSTS", async () => {
    const { app } = await makeApp({ env: PRODUCTION_BEHIND_PROXY, routes });
    const res = await app.inject({ method: "GET", url: "/public", remoteAddress: "10.0.0.1", headers: { "x-forwarded-proto": "https" } });
    assert.equal(res.statusCode, 200);
    const hsts = String(res.headers["strict-transport-security"]);
    assert.match(hsts, /max-age=(\d+)/);
    assert.ok(Number(/max-age=(\d+)/.exec(hsts)?.[1]) >= 31536000);
    assert.match(hsts, /includeSubDomains/);
    await app.close();
  });

  it("ignores X-Forwarded-Proto from anyone else", async () => {
    const { app } = await makeApp({ env: PRODUCTION_BEHIND_PROXY, routes });
    const res = await app.inject({ method: "GET", url: "/public", remoteAddress: "203.0.113.5", headers: { "x-forwarded-proto": "https" } });
    assert.equal(res.statusCode, 403);
    const forwarded = await app.inject({ method: "GET", url: "/public", remoteAddress: "203.0.113.5", headers: { forwarded: "proto=https" } });
    assert.equal(forwarded.statusCode, 403);
    await app.close();
  });

  it("never sends HSTS on plain HTTP (development)", async () => {
    const { app } = await makeApp({ routes });
    const res = await app.inject({ method: "GET", url: "/public" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["strict-transport-security"], undefined);
    await app.close();
  });

  it("keeps a trusted proxy's X-Request-Id and replaces anyone else's", async () => {
    const { app } = await makeApp({ env: { RAMPART_TRUSTED_PROXIES: "10.0.0.1" }, routes });
    const trusted = await app.inject({ method: "GET", url: "/public", remoteAddress: "10.0.0.1", headers: { "x-request-id": "edge-42" } });
    assert.equal(trusted.headers["x-request-id"], "edge-42");
    const untrusted = await app.inject({ method: "GET", url: "/public", remoteAddress: "203.0.113.5", headers: { "x-request-id": "forged" } });
    assert.notEqual(untrusted.headers["x-request-id"], "forged");
    assert.match(String(untrusted.headers["x-request-id"]), /^[0-9a-f-]{36}$/);
    const injected = await app.inject({ method: "GET", url: "/public", remoteAddress: "10.0.0.1", headers: { "x-request-id": "a\nb" } });
    assert.notEqual(injected.headers["x-request-id"], "a\nb");
    await app.close();
  });
});

describe("security headers", () => {
  it("sends the API header set on every response, errors included", async () => {
    const { app } = await makeApp({ routes });
    for (const url of ["/public", "/does-not-exist"]) {
      const res = await app.inject({ method: "GET", url });
      assert.equal(res.headers["x-content-type-options"], "nosniff");
      assert.equal(res.headers["referrer-policy"], "no-referrer");
      assert.match(String(res.headers["content-security-policy"]), /default-src 'none'/);
      assert.match(String(res.headers["content-security-policy"]), /frame-ancestors 'none'/);
      assert.equal(res.headers["cache-control"], "no-store");
      assert.equal(res.headers["x-powered-by"], undefined);
    }
    await app.close();
  });
});
