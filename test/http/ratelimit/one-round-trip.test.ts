/**
 * One Redis round trip per authenticated request: a cached bearer token has its per-IP and
 * per-principal limits decided by one script (stages/rate-limit.ts), counted here on the wire by a
 * proxy that parses the RESP commands clients send. The semantics must stay those of two calls: the
 * per-IP refusal first and spending nothing of the principal's budget, and every request that is not
 * known from memory (uncached, revoked) still refused per IP before any authentication work.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TcpProxy } from "../../core/ratelimit/tcp-proxy.ts";
import { bearer, type IdentityApp, signUp, startIdentityApp } from "../../support/identity.ts";
import { redisUrl, serviceSkip } from "../../support/services.ts";

const skip = await serviceSkip("redis");
// Buckets live in the shared Redis for a minute: every run, and every request group, gets new addresses.
const byte = () => Math.floor(Math.random() * 254) + 1;
const freshIp = () => `10.${byte()}.${byte()}.${byte()}`;
const SCRIPT_CALLS = ["EVALSHA", "EVAL"];

describe("Redis round trips per authenticated request", { skip }, () => {
  let proxy: TcpProxy;
  let rampart: IdentityApp;

  before(async () => {
    proxy = new TcpProxy(redisUrl());
    await proxy.start();
    rampart = await startIdentityApp({
      env: { REDIS_URL: proxy.url },
      overrides: { rateLimit: { enabled: true, perIp: ["1000/minute burst 1000"], perPrincipal: ["1000/minute burst 1000"] } },
    });
  });
  after(async () => {
    await rampart?.close();
    await proxy?.stop();
  });

  const commandsSent = () => [...proxy.commands.values()].reduce((a, b) => a + b, 0);
  const scriptCalls = () => SCRIPT_CALLS.reduce((sum, name) => sum + (proxy.commands.get(name) ?? 0), 0);

  async function countPerRequest(headers: Record<string, string>, n = 20): Promise<{ commands: number; scripts: number }> {
    const ip = freshIp();
    const me = () => rampart.app.inject({ method: "GET", url: "/auth/me", headers, remoteAddress: ip });
    const [coldCommands] = [commandsSent()];
    assert.equal((await me()).statusCode, 200, "warm-up");
    assert.equal(commandsSent() - coldCommands, 2, "a credential seen for the first time: per-IP first, then per-principal");
    const [commands, scripts] = [commandsSent(), scriptCalls()];
    for (let i = 0; i < n; i++) assert.equal((await me()).statusCode, 200);
    return { commands: (commandsSent() - commands) / n, scripts: (scriptCalls() - scripts) / n };
  }

  it("a cached bearer token or API token: one command per request", async () => {
    const { tokens } = await signUp(rampart.app, `rt-${Date.now()}@example.com`, freshIp());
    const jwt = await countPerRequest(bearer(tokens.access_token));
    const created = await rampart.app.inject({
      method: "POST",
      url: "/auth/tokens",
      headers: bearer(tokens.access_token),
      remoteAddress: freshIp(),
      payload: { name: "ci", scopes: ["notes:read"] },
    });
    assert.equal(created.statusCode, 201, created.body);
    const apiToken = await countPerRequest(bearer(created.json().token as string));
    console.log(`Redis commands per authenticated request, on the wire: bearer JWT ${jwt.commands}, API token ${apiToken.commands}`);
    assert.deepEqual(jwt, { commands: 1, scripts: 1 });
    assert.deepEqual(apiToken, { commands: 1, scripts: 1 });
  });
});

describe("one round trip keeps the semantics of two", { skip }, () => {
  let rampart: IdentityApp;

  before(async () => {
    rampart = await startIdentityApp({
      env: { REDIS_URL: redisUrl() },
      overrides: { rateLimit: { enabled: true, perIp: ["3/minute burst 3"], perPrincipal: ["5/minute burst 5"] } },
    });
  });
  after(async () => {
    await rampart?.close();
  });

  const me = (token: string, ip: string) => rampart.app.inject({ method: "GET", url: "/auth/me", headers: bearer(token), remoteAddress: ip });

  async function statuses(token: string, ip: string, n: number): Promise<Array<[number, string | undefined]>> {
    const out: Array<[number, string | undefined]> = [];
    for (let i = 0; i < n; i++) {
      const response = await me(token, ip);
      out.push([response.statusCode, response.statusCode === 429 ? (response.json().policy as string) : undefined]);
    }
    return out;
  }

  it("a per-IP refusal comes first and spends nothing of the principal's budget", async () => {
    const { tokens } = await signUp(rampart.app, `rt-ip-${Date.now()}@example.com`, freshIp());
    const token = tokens.access_token;
    const a = freshIp();
    assert.deepEqual(await statuses(token, a, 5), [
      [200, undefined],
      [200, undefined],
      [200, undefined],
      [429, "ip"],
      [429, "ip"],
    ]);
    // 3 of the user's 5 were spent; the two per-IP refusals spent none of them.
    assert.deepEqual(await statuses(token, freshIp(), 3), [
      [200, undefined],
      [200, undefined],
      [429, "user"],
    ]);
  });

  it("a revoked token is still counted per IP, before authentication", async () => {
    const { tokens } = await signUp(rampart.app, `rt-revoked-${Date.now()}@example.com`, freshIp());
    const token = tokens.access_token;
    assert.equal((await me(token, freshIp())).statusCode, 200, "the token is verified and cached");
    const logout = await rampart.app.inject({ method: "POST", url: "/auth/logout", headers: bearer(token), remoteAddress: freshIp() });
    assert.equal(logout.statusCode, 204, logout.body);
    const ip = freshIp();
    assert.deepEqual(
      (await statuses(token, ip, 5)).map(([status]) => status),
      [401, 401, 401, 429, 429],
    );
  });
});
