/**
 * Regressions for what test/fuzz found (seed 20250601):
 * - loadConfig merged an override's own `__proto__` key into Object.prototype (prototype pollution);
 * - loadConfig threw a RangeError, not a ConfigError naming the key, for `{"trustedProxies": {"length": ":"}}`;
 * - refusals by the transport stage (406 for an unacceptable Accept, 400 for a disallowed Host, 403 for
 *   plain HTTP in production) went out without the security headers of stage 2.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { type IdentityApp, startIdentityApp } from "../support/identity.ts";

describe("config loading (fuzz findings)", () => {
  it("refuses an own __proto__ key as an unknown key and pollutes nothing", () => {
    const overrides = JSON.parse('{"__proto__": {"polluted": 1}, "limits": {"__proto__": {"polluted": 2}}}');
    assert.throws(() => loadConfig({ env: {}, overrides }), (error: unknown) => error instanceof ConfigError && error.issues.some((i) => i.key === "/__proto__"));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("names the key when defaults cannot be applied to a malformed value", () => {
    assert.throws(
      () => loadConfig({ env: {}, overrides: { trustedProxies: { length: ":" } } }),
      (error: unknown) => error instanceof ConfigError && error.issues.some((i) => i.key === "/trustedProxies"),
    );
  });
});

describe("transport-stage refusals carry the security headers", () => {
  let t: IdentityApp;
  before(async () => {
    t = await startIdentityApp({ env: { RAMPART_ALLOWED_HOSTS: "api.test" } });
  });
  after(() => t.close());

  for (const [name, headers, status] of [
    ["unacceptable Accept", { host: "api.test", accept: "!" }, 406],
    ["disallowed Host", { host: "evil.example" }, 400],
  ] as const) {
    it(`${name} → ${status} with nosniff, CSP and no-store`, async () => {
      const response = await t.app.inject({ method: "GET", url: "/healthz", headers });
      assert.equal(response.statusCode, status, response.body);
      assert.equal(response.headers["x-content-type-options"], "nosniff");
      assert.match(String(response.headers["content-security-policy"]), /default-src 'none'/);
      assert.equal(response.headers["cache-control"], "no-store");
      assert.ok(response.headers["x-request-id"]);
    });
  }
});
