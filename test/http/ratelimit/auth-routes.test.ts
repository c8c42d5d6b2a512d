/**
 * Route limits on the reference server (memory store): the strict login and register limits stack on the
 * per-IP one and are keyed by client IP whatever email is tried; per-principal limits are keyed by the
 * user, or by the API token, never by the address the request came from.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import pino from "pino";
import { loadConfig } from "../../../src/config/load.ts";
import { composeServer, type RampartServer } from "../../../src/server/compose.ts";
import { bearer, login, me, PASSWORD, register, signUp } from "../../support/identity.ts";

async function start(rateLimit: Record<string, unknown> = {}): Promise<RampartServer> {
  const config = loadConfig({
    env: { RAMPART_DATA_DIR: mkdtempSync(join(tmpdir(), "rampart-rl-auth-")) },
    overrides: { rateLimit },
  });
  const server = await composeServer(config, pino({ level: "silent" }));
  await server.app.ready();
  return server;
}

/** `RateLimit-Policy` items as [name, q, w]; fails unless every item is `"name";q=<int>;w=<int>`. */
function policies(res: LightMyRequestResponse): [string, number, number][] {
  const value = res.headers["ratelimit-policy"];
  assert.equal(typeof value, "string", `RateLimit-Policy is present once: ${JSON.stringify(value)}`);
  return (value as string).split(", ").map((item) => {
    const match = /^"([a-z][a-z0-9_.*-]*)";q=(\d+);w=(\d+)$/.exec(item);
    assert.ok(match, `well-formed policy item: ${JSON.stringify(item)} in ${JSON.stringify(value)}`);
    return [match[1]!, Number(match[2]), Number(match[3])];
  });
}

/** `RateLimit`: one item, `"name";r=<int>;t=<int>`. */
function current(res: LightMyRequestResponse): { name: string; r: number; t: number } {
  const match = /^"([a-z][a-z0-9_.*-]*)";r=(\d+);t=(\d+)$/.exec(String(res.headers.ratelimit));
  assert.ok(match, `well-formed RateLimit: ${JSON.stringify(res.headers.ratelimit)}`);
  return { name: match[1]!, r: Number(match[2]), t: Number(match[3]) };
}

function assertLimited(res: LightMyRequestResponse, policy: string): void {
  assert.equal(res.statusCode, 429, res.body);
  assert.match(String(res.headers["content-type"]), /^application\/problem\+json/);
  assert.match(String(res.headers["retry-after"]), /^[1-9]\d*$/);
  assert.equal(res.json().policy, policy, res.body);
}

let octet = Math.floor(Math.random() * 250);
const freshIp = () => `198.18.${++octet % 256}.${Math.floor(Math.random() * 254) + 1}`;
const run = randomUUID().slice(0, 8);
let serial = 0;
const freshEmail = (name: string) => `${name}-${run}-${++serial}@example.com`;

describe("login and register limits (defaults)", () => {
  let server: RampartServer;
  before(async () => {
    server = await start();
  });
  after(() => server?.close());

  it("POST /auth/login stacks the per-IP and login policies; the 11th attempt in a minute is 429 whatever the email", async () => {
    const ip = freshIp();
    const first = await login(server.app, freshEmail("nobody"), PASSWORD, ip);
    assert.equal(first.statusCode, 401, first.body);
    assert.deepEqual(policies(first), [
      ["ip", 600, 60],
      ["login", 10, 60],
      ["login-2", 100, 3600],
    ]);
    for (let i = 2; i <= 10; i++) {
      const res = await login(server.app, freshEmail("nobody"), PASSWORD, ip);
      assert.equal(res.statusCode, 401, `attempt ${i}: ${res.body}`);
    }
    const eleventh = await login(server.app, freshEmail("nobody"), PASSWORD, ip);
    assertLimited(eleventh, "login");
    assert.equal(current(eleventh).name, "login");
    assert.ok(Number(eleventh.headers["retry-after"]) <= 6, `10/minute refills one attempt every 6 s: ${eleventh.headers["retry-after"]}`);
  });

  it("a refused login costs nothing, other routes from that IP and other IPs' logins go on", async () => {
    const ip = freshIp();
    const email = freshEmail("owner");
    assert.equal((await register(server.app, email, PASSWORD, freshIp())).statusCode, 201);
    for (let i = 0; i < 10; i++) assert.equal((await login(server.app, freshEmail("nobody"), PASSWORD, ip)).statusCode, 401);
    // Even the right password is refused: the limit is on the client, before the body is read.
    assertLimited(await login(server.app, email, PASSWORD, ip), "login");
    // The login buckets are scoped to the route: the client's other requests only spend its per-IP quota.
    const health = await server.app.inject({ method: "GET", url: "/healthz", remoteAddress: ip });
    assert.equal(health.statusCode, 200, health.body);
    assert.deepEqual(policies(health), [["ip", 600, 60]]);
    const elsewhere = await login(server.app, email, PASSWORD, freshIp());
    assert.equal(elsewhere.statusCode, 200, elsewhere.body);
  });

  it("POST /auth/register: the 6th sign-up from one IP in a minute is 429 naming register", async () => {
    const ip = freshIp();
    for (let i = 1; i <= 5; i++) {
      const res = await register(server.app, freshEmail("signup"), PASSWORD, ip);
      assert.equal(res.statusCode, 201, `sign-up ${i}: ${res.body}`);
      if (i === 1) {
        assert.deepEqual(policies(res), [
          ["ip", 600, 60],
          ["register", 5, 60],
          ["register-2", 20, 3600],
        ]);
      }
    }
    assertLimited(await register(server.app, freshEmail("signup"), PASSWORD, ip), "register");
  });
});

describe("per-principal limits (perPrincipal: 3/minute burst 3)", () => {
  let server: RampartServer;
  before(async () => {
    server = await start({ perPrincipal: ["3/minute burst 3"] });
  });
  after(() => server?.close());

  it("one user's 4th request is 429 naming the user policy; another user on the same IP is served", async () => {
    const ip = freshIp();
    const alice = await signUp(server.app, freshEmail("alice"), freshIp());
    const bob = await signUp(server.app, freshEmail("bob"), freshIp());
    for (let i = 0; i < 3; i++) {
      const res = await me(server.app, alice.tokens.access_token, ip);
      assert.equal(res.statusCode, 200, res.body);
    }
    const fourth = await me(server.app, alice.tokens.access_token, ip);
    assertLimited(fourth, "user");
    assert.ok(Number(fourth.headers["retry-after"]) <= 20, `3/minute refills one every 20 s: ${fourth.headers["retry-after"]}`);
    for (let i = 0; i < 3; i++) {
      const res = await me(server.app, bob.tokens.access_token, ip);
      assert.equal(res.statusCode, 200, `bob ${i + 1}: ${res.body}`);
    }
    // The bucket is the user's, not the address's: another IP does not help Alice.
    assertLimited(await me(server.app, alice.tokens.access_token, freshIp()), "user");
    // A public route from the same address is not per-principal limited.
    assert.equal((await server.app.inject({ method: "GET", url: "/healthz", remoteAddress: ip })).statusCode, 200);
  });

  it("an API token has its own bucket, separate from its owner's JWT", async () => {
    const ip = freshIp();
    const carol = await signUp(server.app, freshEmail("carol"), freshIp());
    // Creating the token spends one of Carol's three.
    const created = await server.app.inject({
      method: "POST",
      url: "/auth/tokens",
      remoteAddress: ip,
      headers: bearer(carol.tokens.access_token),
      payload: { name: "ci", scopes: ["notes:read"] },
    });
    assert.equal(created.statusCode, 201, created.body);
    const token = created.json().token as string;
    for (let i = 0; i < 3; i++) {
      const res = await me(server.app, token, ip);
      assert.equal(res.statusCode, 200, `token ${i + 1}: ${res.body}`);
    }
    assertLimited(await me(server.app, token, ip), "user");
    // The owner's session still has its two.
    for (let i = 0; i < 2; i++) {
      const res = await me(server.app, carol.tokens.access_token, ip);
      assert.equal(res.statusCode, 200, `JWT ${i + 1}: ${res.body}`);
    }
    assertLimited(await me(server.app, carol.tokens.access_token, ip), "user");
    // `Token rmp_…` is the same credential: the same (spent) bucket.
    assertLimited(await me(server.app, token, ip, "Token"), "user");
  });

  it("two sessions of one user share the user's bucket", async () => {
    const email = freshEmail("dave");
    const dave = await signUp(server.app, email, freshIp());
    const second = await login(server.app, email, PASSWORD, freshIp());
    assert.equal(second.statusCode, 200, second.body);
    const tokens = [dave.tokens.access_token, second.json().access_token as string];
    for (let i = 0; i < 3; i++) assert.equal((await me(server.app, tokens[i % 2]!, freshIp())).statusCode, 200);
    assertLimited(await me(server.app, tokens[1]!, freshIp()), "user");
  });
});

describe("authenticated routes report both the per-IP and the per-principal policies", () => {
  let server: RampartServer;
  before(async () => {
    server = await start({ perIp: ["5/minute burst 5"], perPrincipal: ["100/minute burst 100"] });
  });
  after(() => server?.close());

  it(
    "RateLimit-Policy lists ip and user, and RateLimit reports the policy closest to exhaustion",
    async () => {
      const ip = freshIp();
      const user = await signUp(server.app, freshEmail("erin"), freshIp());
      let last: LightMyRequestResponse | undefined;
      for (let i = 0; i < 5; i++) {
        last = await me(server.app, user.tokens.access_token, ip);
        assert.equal(last.statusCode, 200, last.body);
      }
      // The next request will be refused by "ip": a client reading the fields must be able to know that.
      assertLimited(await me(server.app, user.tokens.access_token, ip), "ip");
      assert.deepEqual(
        policies(last!).map(([name]) => name),
        ["ip", "user"],
        "every policy of the route is listed",
      );
      assert.deepEqual(current(last!), { ...current(last!), name: "ip", r: 0 }, "RateLimit reports the exhausted policy");
    },
  );
});
