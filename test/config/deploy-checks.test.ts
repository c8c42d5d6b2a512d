import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runDeployChecks } from "../../src/config/deploy-checks.ts";
import { loadConfig } from "../../src/config/load.ts";

const ids = (env: Record<string, string>, overrides: Record<string, unknown> = {}) =>
  runDeployChecks(loadConfig({ env: { RAMPART_ENV: "production", RAMPART_ALLOWED_HOSTS: "api.example.com", ...env }, overrides }))
    .filter((f) => f.severity === "error")
    .map((f) => f.id);

describe("deploy checks", () => {
  it("pass for a production setup behind a trusted TLS proxy", () => {
    assert.deepEqual(ids({ RAMPART_TRUSTED_PROXIES: "10.0.0.1" }), []);
  });

  it("flag no allowed hosts (CONTRACT: required in production)", () => {
    const found = runDeployChecks(loadConfig({ env: { RAMPART_ENV: "production", RAMPART_TRUSTED_PROXIES: "10.0.0.1" } }))
      .filter((f) => f.severity === "error")
      .map((f) => f.id);
    assert.deepEqual(found, ["RAMPART_CHECK_NO_ALLOWED_HOSTS"]);
  });

  it("warn while passkeys are still set up for localhost, not once they name the real site", () => {
    const warnings = (overrides: Record<string, unknown>) =>
      runDeployChecks(loadConfig({ env: { RAMPART_ENV: "production", RAMPART_TRUSTED_PROXIES: "10.0.0.1", RAMPART_ALLOWED_HOSTS: "api.example.com" }, overrides }))
        .filter((f) => f.severity === "warning")
        .map((f) => f.id);
    assert.deepEqual(warnings({}), ["RAMPART_CHECK_WEBAUTHN_DEVELOPMENT_ORIGIN"]);
    assert.deepEqual(warnings({ webauthn: { rpId: "example.com", origins: ["https://app.example.com"] } }), []);
  });

  it("flag no HTTPS evidence", () => {
    assert.ok(ids({}).includes("RAMPART_CHECK_NO_HTTPS"));
  });

  it("flag HSTS off or short, and HTTPS enforcement off", () => {
    const found = ids({ RAMPART_TRUSTED_PROXIES: "10.0.0.1" }, { https: { enforce: false, hsts: { maxAgeSeconds: 3600 } } });
    assert.ok(found.includes("RAMPART_CHECK_HSTS_OFF"));
    assert.ok(found.includes("RAMPART_CHECK_HTTPS_NOT_ENFORCED"));
  });

  it("flag registration open without being asked for, but not when asked for", () => {
    const dev = runDeployChecks(loadConfig({ env: {} })).map((f) => f.id);
    assert.ok(dev.includes("RAMPART_CHECK_REGISTRATION_OPEN_BY_DEFAULT"));
    assert.ok(!ids({ RAMPART_TRUSTED_PROXIES: "10.0.0.1", RAMPART_REGISTRATION: "open" }).includes("RAMPART_CHECK_REGISTRATION_OPEN_BY_DEFAULT"));
  });

  it("flag a placeholder HS256 secret even when long enough", () => {
    const found = ids({ RAMPART_TRUSTED_PROXIES: "10.0.0.1" }, { tokens: { algorithm: "HS256", hs256Secret: "secret".repeat(8) } });
    assert.ok(found.includes("RAMPART_CHECK_WEAK_SECRET"));
  });

  it("every finding has an id, a reason and a fix", () => {
    for (const finding of runDeployChecks(loadConfig({ env: {}, overrides: { rateLimit: { enabled: false } } }))) {
      assert.match(finding.id, /^RAMPART_CHECK_[A-Z0-9_]+$/);
      assert.ok(finding.reason.length > 10 && finding.fix.length > 10);
    }
  });

  it("gateway: HS256 is an error (the upstream could not verify assertions); a plain-HTTP upstream off this host a warning", () => {
    const all = (overrides: Record<string, unknown>) =>
      runDeployChecks(loadConfig({ env: { RAMPART_ENV: "production", RAMPART_TRUSTED_PROXIES: "10.0.0.1", RAMPART_ALLOWED_HOSTS: "api.example.com" }, overrides })).map((f) => f.id);
    const secret = "k7Qz9xV2mP4wR8tY1uI6oA3sD5fG0hJL";
    assert.ok(all({ gateway: { upstream: "http://127.0.0.1:8000" }, tokens: { algorithm: "HS256", hs256Secret: secret } }).includes("RAMPART_CHECK_GATEWAY_HS256"));
    assert.ok(!all({ tokens: { algorithm: "HS256", hs256Secret: secret } }).includes("RAMPART_CHECK_GATEWAY_HS256"), "no gateway, no finding");
    assert.ok(all({ gateway: { upstream: "http://10.1.2.3:8000" } }).includes("RAMPART_CHECK_GATEWAY_UPSTREAM_CLEARTEXT"));
    // The console: on by default, fine behind a TLS proxy, a warning without HTTPS or with enforcement off.
    const plain = (env: Record<string, string>) => runDeployChecks(loadConfig({ env: { RAMPART_ALLOWED_HOSTS: "api.example.com", ...env } }));
    const consoleFinding = plain({}).find((f) => f.id === "RAMPART_CHECK_CONSOLE_WITHOUT_HTTPS");
    assert.equal(consoleFinding?.severity, "warning", "no TLS, no proxy: the console would take passwords over plain HTTP");
    assert.ok(!all({}).includes("RAMPART_CHECK_CONSOLE_WITHOUT_HTTPS"), "behind a trusted TLS proxy with HTTPS enforced");
    assert.ok(all({ https: { enforce: false } }).includes("RAMPART_CHECK_CONSOLE_WITHOUT_HTTPS"), "HTTPS not enforced");
    assert.ok(!plain({ RAMPART_CONSOLE: "off" }).some((f) => f.id === "RAMPART_CHECK_CONSOLE_WITHOUT_HTTPS"), "console off: nothing to warn about");
    for (const upstream of ["http://127.0.0.1:8000", "http://localhost:8000", "https://10.1.2.3"]) {
      assert.ok(!all({ gateway: { upstream } }).includes("RAMPART_CHECK_GATEWAY_UPSTREAM_CLEARTEXT"), upstream);
    }
  });
});
