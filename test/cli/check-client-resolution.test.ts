/**
 * `rampart check` says how the client IP and scheme will be resolved, and `--explain-request` runs the
 * server's resolver on one sample request. The parser and the report are checked in-process; the
 * real CLI once for the default output and once for a sample from an untrusted proxy.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { checkCommand, explainRequest, parseSampleRequest } from "../../src/cli/commands/check.ts";
import { UsageError } from "../../src/cli/usage.ts";
import { loadConfig } from "../../src/config/load.ts";
import { spawnCli } from "../support/cli.ts";

const dataDir = () => mkdtempSync(join(tmpdir(), "rampart-check-"));

describe("rampart check: client resolution", () => {
  it("prints where the client IP and the scheme come from (no trusted proxies)", async () => {
    const run = await spawnCli(dataDir(), ["check"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^client IP: the socket address \(no trusted proxies\); X-Forwarded-For and Forwarded are ignored$/m);
    assert.match(run.stdout, /^scheme: the connection's \(http: no native TLS\); X-Forwarded-Proto/m);
    assert.match(run.stdout, /^HTTPS: not enforced/m);
  });

  it("--explain-request from an untrusted proxy: the socket address, and the warning with the setting to change", async () => {
    const run = await spawnCli(dataDir(), ["check", "--explain-request", "peer=10.0.0.5 x-forwarded-for=203.0.113.9 x-forwarded-proto=https"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^sample request from 10\.0\.0\.5: not a trusted proxy/m);
    assert.match(run.stdout, /^ {2}client IP: 10\.0\.0\.5$/m);
    assert.match(run.stdout, /^ {2}scheme: http$/m);
    assert.match(run.stdout, /^WARNING RAMPART_WARN_PROXY_HEADERS_IGNORED: .*add 10\.0\.0\.5 .*trustedProxies \(env RAMPART_TRUSTED_PROXIES\)/m);
  });

  it("--explain-request through a trusted proxy: the rightmost untrusted hop and the forwarded scheme", () => {
    const config = loadConfig({ env: { RAMPART_TRUSTED_PROXIES: "10.0.0.0/8" } });
    const lines = explainRequest(config, parseSampleRequest("peer=10.0.0.5 x-forwarded-for=6.6.6.6, 198.51.100.7, 10.0.0.2 x-forwarded-proto=https"));
    assert.deepEqual(lines, ["sample request from 10.0.0.5: a trusted proxy, its forwarding headers are read", "  client IP: 198.51.100.7", "  scheme: https"]);
  });

  it("--explain-request with HTTPS enforced: says the request would be refused, and why", () => {
    const config = loadConfig({ env: { RAMPART_TRUSTED_PROXIES: "10.0.0.0/8" }, overrides: { https: { enforce: true } } });
    const lines = explainRequest(config, parseSampleRequest("peer=192.168.1.4 x-forwarded-proto=https"));
    assert.ok(lines.includes("  HTTPS is enforced: this request would be refused with 403"), lines.join("\n"));
    assert.ok(lines.some((l) => l.startsWith("WARNING RAMPART_WARN_FORWARDED_HTTPS_IGNORED: 1 sampled request from 192.168.1.4 said X-Forwarded-Proto: https")), lines.join("\n"));
    const trusted = explainRequest(config, parseSampleRequest("peer=10.0.0.5 forwarded=for=198.51.100.7;proto=https"));
    assert.deepEqual(trusted, ["sample request from 10.0.0.5: a trusted proxy, its forwarding headers are read", "  client IP: 198.51.100.7", "  scheme: https"]);
  });

  it("parses the sample: continuation words, Forwarded's own pairs, tls; refuses what it does not know", () => {
    assert.deepEqual(parseSampleRequest("peer=::1 tls=true forwarded=for=1.2.3.4;proto=http, for=5.6.7.8"), {
      socketAddress: "::1",
      socketEncrypted: true,
      forwarded: "for=1.2.3.4;proto=http, for=5.6.7.8",
      xForwardedFor: undefined,
      xForwardedProto: undefined,
    });
    for (const [text, pattern] of [
      ["x-forwarded-for=1.2.3.4", /"peer=<socket address>" is required/],
      ["peer=1.2.3.4 via=proxy", /unknown field "via"/],
      ["via=proxy peer=1.2.3.4", /unknown field "via"/],
      ["peer=not-an-ip", /peer must be an IPv4 or IPv6 address/],
      ["peer=1.2.3.4 peer=5.6.7.8", /"peer" is given twice/],
      ["peer=1.2.3.4 tls=yes", /tls must be true or false/],
    ] as const) {
      assert.throws(() => parseSampleRequest(text), (error: Error) => error instanceof UsageError && pattern.test(error.message), text);
    }
  });

  it("the help text documents --explain-request", () => {
    assert.match(checkCommand.help, /--explain-request "peer=/);
    assert.match(checkCommand.help, /client IP/);
  });
});
