import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeApp } from "../support/app.ts";

const routes = async (app: import("fastify").FastifyInstance) => {
  app.get("/data", { config: { rampart: { auth: "public" } } }, async () => ({ ok: true }));
};
const env = { RAMPART_CORS_ORIGINS: "https://app.example.com,http://localhost:3000" };

function corsHeaders(headers: Record<string, unknown>) {
  return Object.keys(headers).filter((h) => h.startsWith("access-control-"));
}

describe("CORS", () => {
  it("echoes an allowed origin exactly, with Vary: Origin", async () => {
    const { app } = await makeApp({ env, routes });
    const res = await app.inject({ method: "GET", url: "/data", headers: { origin: "https://app.example.com" } });
    assert.equal(res.headers["access-control-allow-origin"], "https://app.example.com");
    assert.match(String(res.headers.vary), /Origin/i);
    await app.close();
  });

  for (const origin of [
    "null",
    "https://evil.test",
    "https://app.example.com.evil.test",
    "https://evilapp.example.com",
    "http://app.example.com",
    "https://APP.example.com",
    "https://app.example.com:8443",
  ]) {
    it(`gives no CORS headers to ${origin}`, async () => {
      const { app } = await makeApp({ env, routes });
      const res = await app.inject({ method: "GET", url: "/data", headers: { origin } });
      assert.deepEqual(corsHeaders(res.headers), []);
      assert.match(String(res.headers.vary), /Origin/i);
      const preflight = await app.inject({
        method: "OPTIONS",
        url: "/data",
        headers: { origin, "access-control-request-method": "POST" },
      });
      assert.deepEqual(corsHeaders(preflight.headers), []);
      await app.close();
    });
  }

  it("answers an allowed preflight with methods, headers and a max-age", async () => {
    const { app } = await makeApp({ env, routes });
    const res = await app.inject({
      method: "OPTIONS",
      url: "/data",
      headers: { origin: "http://localhost:3000", "access-control-request-method": "PATCH", "access-control-request-headers": "authorization" },
    });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers["access-control-allow-origin"], "http://localhost:3000");
    assert.match(String(res.headers["access-control-allow-methods"]), /PATCH/);
    assert.match(String(res.headers["access-control-allow-headers"]), /authorization/);
    assert.equal(res.headers["access-control-max-age"], "600");
    assert.match(String(res.headers.vary), /Origin/i);
    await app.close();
  });

  it("refuses a wildcard origin with credentials as a config error naming the key", async () => {
    await assert.rejects(
      makeApp({ env: { RAMPART_CORS_ORIGINS: "*" }, overrides: { cors: { credentials: true } } }),
      (error: Error) => error.name === "ConfigError" && /\/cors\/origins\/0/.test(error.message),
    );
  });

  it("refuses an origin that is not exact (path, trailing slash, null)", async () => {
    for (const origin of ["https://app.example.com/", "https://app.example.com/path", "null", "app.example.com"]) {
      await assert.rejects(makeApp({ env: { RAMPART_CORS_ORIGINS: origin } }), /cors\/origins\/0/);
    }
  });
});
