import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError } from "../../src/config/errors.ts";
import { loadConfig } from "../../src/config/load.ts";
import { renderSchema, SCHEMA_PATH } from "../../src/config/publish-schema.ts";

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error.issues;
  }
  assert.fail("expected the configuration to be refused");
}

const dir = mkdtempSync(join(tmpdir(), "rampart-config-"));
function file(name: string, text: string) {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("configuration", () => {
  it("has safe defaults", () => {
    const config = loadConfig({ env: {} });
    assert.equal(config.env, "development");
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 8080);
    assert.equal(config.registration, "open");
    assert.equal(config.tokens.algorithm, "EdDSA");
    assert.equal(config.limits.bodyBytes, 1048576);
    assert.deepEqual(config.cors.origins, []);
    assert.ok(Object.isFrozen(config.cors));
  });

  it("production closes registration and enforces HTTPS unless asked otherwise", () => {
    const config = loadConfig({ env: { RAMPART_ENV: "production" } });
    assert.equal(config.registration, "closed");
    assert.equal(config.https.enforce, true);
    assert.equal(loadConfig({ env: { RAMPART_ENV: "production", RAMPART_REGISTRATION: "open" } }).registration, "open");
  });

  it("reads YAML and JSON files, with the environment on top", () => {
    const yaml = file("c.yaml", "port: 9000\ncors:\n  origins: [https://a.example.com]\n");
    assert.equal(loadConfig({ env: { RAMPART_CONFIG: yaml } }).port, 9000);
    assert.equal(loadConfig({ env: { RAMPART_CONFIG: yaml, PORT: "9100" } }).port, 9100);
    const json = file("c.json", JSON.stringify({ limits: { bodyBytes: 2048 } }));
    assert.equal(loadConfig({ env: { RAMPART_CONFIG: json } }).limits.bodyBytes, 2048);
  });

  it("names the key, the problem and the expected form", () => {
    const [issue] = issuesOf(() => loadConfig({ env: { RAMPART_CONFIG: file("bad.json", JSON.stringify({ limits: { bodyBytes: "big" } })) } }));
    assert.equal(issue?.key, "/limits/bodyBytes");
    assert.match(issue?.message ?? "", /expected integer, got "big"/);
  });

  it("names the environment variable a bad value came from", () => {
    const issues = issuesOf(() => loadConfig({ env: { PORT: "eighty", RAMPART_ENV: "prod" } }));
    assert.ok(issues.some((i) => i.key.startsWith("PORT") && /integer/.test(i.message)));
    assert.ok(issues.some((i) => i.key.startsWith("RAMPART_ENV") && /development, production/.test(i.message)));
  });

  it("refuses unknown keys (a typo is an error, not ignored)", () => {
    const [issue] = issuesOf(() => loadConfig({ env: { RAMPART_CONFIG: file("typo.json", JSON.stringify({ cors: { origin: ["x"] } })) } }));
    assert.equal(issue?.key, "/cors/origin");
    assert.match(issue?.message ?? "", /unexpected property/);
  });

  it("refuses unreadable or unparsable files", () => {
    assert.equal(issuesOf(() => loadConfig({ env: { RAMPART_CONFIG: join(dir, "missing.json") } }))[0]?.key, "RAMPART_CONFIG");
    assert.equal(issuesOf(() => loadConfig({ env: { RAMPART_CONFIG: file("broken.json", "{") } }))[0]?.key, "RAMPART_CONFIG");
    assert.equal(issuesOf(() => loadConfig({ env: { RAMPART_CONFIG: file("list.json", "[]") } }))[0]?.key, "RAMPART_CONFIG");
  });

  it("refuses a bad trusted proxy, half a TLS pair and a short HS256 secret", () => {
    assert.equal(issuesOf(() => loadConfig({ env: { RAMPART_TRUSTED_PROXIES: "10.0.0.1,not-an-ip" } }))[0]?.key, "/trustedProxies/1");
    assert.equal(issuesOf(() => loadConfig({ env: {}, overrides: { https: { certFile: "/x.pem" } } }))[0]?.key, "/https/keyFile");
    assert.equal(
      issuesOf(() => loadConfig({ env: {}, overrides: { tokens: { algorithm: "HS256", hs256Secret: "short" } } }))[0]?.key,
      "/tokens/hs256Secret",
    );
  });

  it("publishes a JSON Schema that matches the code", () => {
    assert.equal(readFileSync(SCHEMA_PATH, "utf8"), renderSchema(), "run `npm run schema` and commit the result");
  });
});
