/**
 * `rampart gateway` as users run it: a real process with RAMPART_UPSTREAM and RAMPART_POLICY in front
 * of the Flask example under gunicorn; `rampart routes` prints the gateway's rule table; `rampart check
 * --deploy` covers the gateway; a bad policy or a missing upstream stops start-up naming the problem.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { spawnCli } from "../support/cli.ts";
import { startServer, type ServerProcess } from "../support/server-process.ts";
import { pythonModulesAvailable, startUpstream, type Upstream } from "../support/upstreams.ts";

const skip = await pythonModulesAvailable();

const POLICY_YAML = `# orders API behind rampart gateway
audience: orders-api
roles:
  clerk: [orders:read]
routes:
  - match: GET /api/health
    auth: public
  - match: GET /api/orders
    permissions: [orders:read]
    limits: ["30/minute burst 10"]
  - match: POST /api/orders
    auth: public
`;

describe("rampart gateway (the command)", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "rampart-gateway-cli-"));
  const policy = join(dir, "policy.yaml");
  const config = join(dir, "rampart.json");
  let upstream: Upstream;
  let env: Record<string, string>;
  before(async () => {
    upstream = await startUpstream("flask", { env: { RAMPART_JWKS_URL: "http://127.0.0.1:9/unused", RAMPART_AUDIENCE: "orders-api" } });
    writeFileSync(policy, POLICY_YAML);
    writeFileSync(config, JSON.stringify({ gateway: { prefix: "/_rampart" } }));
    env = { RAMPART_UPSTREAM: upstream.url, RAMPART_POLICY: policy, RAMPART_CONFIG: config };
  });
  after(async () => {
    await upstream?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts, prints where it listens and what it protects, forwards a public rule and refuses the rest", async () => {
    let gateway: ServerProcess | undefined;
    try {
      gateway = await startServer({ ...env, RAMPART_DATA_DIR: join(dir, "data") }, 30_000, "gateway");
      assert.match(gateway.output(), /upstream: http:\/\/127\.0\.0\.1:\d+/);
      assert.match(gateway.output(), /policy: .*policy\.yaml \(3 rules\)/);
      const mark = upstream.seen().length;
      assert.equal((await fetch(`${gateway.url}/api/health`)).status, 200);
      assert.equal((await fetch(`${gateway.url}/api/orders`)).status, 401);
      assert.equal((await fetch(`${gateway.url}/api/nothing`)).status, 404);
      assert.equal((await fetch(`${gateway.url}/_rampart/healthz`)).status, 200);
      assert.deepEqual(upstream.seen().slice(mark).map((r) => r.pathInfo), ["/api/health"]);
    } finally {
      await gateway?.stop();
    }
  });

  it("rampart routes prints the gateway's own routes and one row per rule", async () => {
    const run = await spawnCli(join(dir, "routes-data"), ["routes"], { env });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /GET\s+\/api\/orders\s+bearer\|api-token\|cookie\s+orders:read\s+30\/minute burst 10/);
    assert.match(run.stdout, /GET\s+\/api\/health\s+public/);
    assert.match(run.stdout, /POST\s+\/_rampart\/auth\/login\s+public/);
  });

  it("rampart check --deploy validates the policy and reports the gateway's findings", async () => {
    const run = await spawnCli(join(dir, "check-data"), ["check", "--deploy"], { env });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /gateway policy is valid: .*policy\.yaml, 3 rules/);
    assert.match(run.stdout, /WARNING RAMPART_CHECK_GATEWAY_PUBLIC_WRITE/);
    assert.match(run.stdout, /ERROR RAMPART_CHECK_NO_HTTPS/);
  });

  it("a policy with a permission no role grants stops start-up naming the rule; so does a missing upstream", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "routes:\n  - match: GET /api/orders\n    permissions: [order:read]\n");
    const run = await spawnCli(join(dir, "bad-data"), ["gateway"], { env: { ...env, RAMPART_POLICY: bad, PORT: "0" } });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /\/routes\/0\/permissions\/0/);
    const none = await spawnCli(join(dir, "none-data"), ["gateway"], { env: { RAMPART_POLICY: policy, PORT: "0" } });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /RAMPART_UPSTREAM/);
  });
});
