/**
 * API tokens are served from memory once found valid in storage (identity/api-token-cache.ts), and
 * nothing may outlive a change: a token deleted through the API, revoked by the CLI (another process),
 * expired, or whose owner was disabled is refused on the very next request — on this instance and on
 * every other one sharing Redis — and a disabled-then-re-enabled owner does not get revoked tokens back.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { loadConfig } from "../../../src/config/load.ts";
import { generateApiToken } from "../../../src/core/tokens/index.ts";
import type { PipelineRequest } from "../../../src/http/stage-io.ts";
import { createAuthenticator } from "../../../src/identity/authenticator.ts";
import { type IdentityContext, openIdentity } from "../../../src/identity/context.ts";
import { spawnCli } from "../../support/cli.ts";
import { assertInvalidToken, bearer, type IdentityApp, openStore, PASSWORD, signUp, startIdentityApp } from "../../support/identity.ts";
import { redisUrl, serviceSkip } from "../../support/services.ts";

const IP = "192.0.2.80";
const json = { "content-type": "application/json" };

async function createToken(app: FastifyInstance, accessToken: string, scopes = ["notes:read", "profile:read"]) {
  const response = await app.inject({
    method: "POST",
    url: "/auth/tokens",
    headers: bearer(accessToken),
    remoteAddress: IP,
    payload: { name: `t-${Math.random()}`, scopes },
  });
  assert.equal(response.statusCode, 201, response.body);
  return response.json() as { id: string; token: string };
}

const me = (app: FastifyInstance, token: string) => app.inject({ method: "GET", url: "/auth/me", headers: bearer(token), remoteAddress: IP });

describe("API token cache, one instance on SQLite", () => {
  let t: IdentityApp;
  before(async () => {
    t = await startIdentityApp();
  });
  after(async () => {
    await t?.close();
  });

  it("a token revoked by the CLI (another process) is refused on the next request", async () => {
    const { tokens } = await signUp(t.app, `cli-${Date.now()}@example.com`, IP);
    const created = await createToken(t.app, tokens.access_token);
    assert.equal((await me(t.app, created.token)).statusCode, 200);
    assert.equal((await me(t.app, created.token)).statusCode, 200, "served from the cache now");
    const run = await spawnCli(t.dataDir, ["tokens", "revoke", "--id", created.id]);
    assert.equal(run.status, 0, run.stderr);
    assertInvalidToken(await me(t.app, created.token), "refused at once after rampart tokens revoke");
  });

  it("deleted through the API: refused at once", async () => {
    const { tokens } = await signUp(t.app, `del-${Date.now()}@example.com`, IP);
    const created = await createToken(t.app, tokens.access_token);
    assert.equal((await me(t.app, created.token)).statusCode, 200);
    const deleted = await t.app.inject({ method: "DELETE", url: `/auth/tokens/${created.id}`, headers: bearer(tokens.access_token), remoteAddress: IP });
    assert.equal(deleted.statusCode, 204);
    assertInvalidToken(await me(t.app, created.token));
  });

  it("a cached token expires on time", async () => {
    const user = await signUp(t.app, `exp-${Date.now()}@example.com`, IP);
    const generated = generateApiToken();
    const store = await openStore(t.dataDir);
    try {
      await store.repos.apiTokens.insert({
        userId: user.id,
        name: "short-lived",
        prefix: generated.prefix,
        secretHash: generated.secretHash,
        scopes: ["profile:read"],
        expiresAt: new Date(Date.now() + 1500),
      });
    } finally {
      await store.close();
    }
    assert.equal((await me(t.app, generated.token)).statusCode, 200);
    assert.equal((await me(t.app, generated.token)).statusCode, 200, "cached");
    await sleep(1600);
    assertInvalidToken(await me(t.app, generated.token), "expired while cached");
  });

  it("an owner disabled by an admin: refused at once, and re-enabling does not revive the token", async () => {
    const adminEmail = `adm-${Date.now()}@example.com`;
    const admin = await signUp(t.app, adminEmail, IP);
    const store = await openStore(t.dataDir);
    await store.repos.users.setRoles(admin.id, ["admin"]);
    await store.close();
    const adminToken = (
      await t.app.inject({ method: "POST", url: "/auth/login", headers: json, remoteAddress: IP, payload: { email: adminEmail, password: PASSWORD } })
    ).json().access_token as string;
    const owner = await signUp(t.app, `own-${Date.now()}@example.com`, IP);
    const created = await createToken(t.app, owner.tokens.access_token);
    assert.equal((await me(t.app, created.token)).statusCode, 200);
    const patch = (disabled: boolean) =>
      t.app.inject({ method: "PATCH", url: `/admin/users/${owner.id}`, headers: { ...json, ...bearer(adminToken) }, remoteAddress: IP, payload: { disabled } });
    assert.equal((await patch(true)).statusCode, 200);
    assertInvalidToken(await me(t.app, created.token));
    assert.equal((await patch(false)).statusCode, 200);
    assertInvalidToken(await me(t.app, created.token), "disabling revoked the owner's API tokens for good");
  });
});

describe("API token cache across instances sharing Redis", { skip: await serviceSkip("redis") }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-apitoken-cache-"));
  let a: IdentityApp;
  let b: IdentityApp;
  before(async () => {
    a = await startIdentityApp({ dataDir, env: { REDIS_URL: redisUrl() } });
    b = await startIdentityApp({ dataDir, env: { REDIS_URL: redisUrl() } });
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  // Both instances share this process: the broadcast reached b's socket before a answered, but b's
  // event loop may read it a turn later. With separate processes, test/fleet/ measures the window.
  async function refusedWithin(app: FastifyInstance, token: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while ((await me(app, token)).statusCode === 200) {
      assert.ok(Date.now() < deadline, `still accepted ${ms} ms after the change answered`);
      await sleep(1);
    }
    assertInvalidToken(await me(app, token));
  }

  it("deleted on one instance: refused on the other within 100 ms", async () => {
    const { tokens } = await signUp(a.app, `x-${Date.now()}@example.com`, IP);
    const created = await createToken(a.app, tokens.access_token);
    assert.equal((await me(b.app, created.token)).statusCode, 200);
    assert.equal((await me(b.app, created.token)).statusCode, 200, "b serves it from its cache");
    const deleted = await a.app.inject({ method: "DELETE", url: `/auth/tokens/${created.id}`, headers: bearer(tokens.access_token), remoteAddress: IP });
    assert.equal(deleted.statusCode, 204);
    await refusedWithin(b.app, created.token, 100);
  });

  it("revoked by the CLI: refused on every running instance at once", async () => {
    const { tokens } = await signUp(a.app, `y-${Date.now()}@example.com`, IP);
    const created = await createToken(a.app, tokens.access_token);
    for (const app of [a.app, b.app]) assert.equal((await me(app, created.token)).statusCode, 200);
    const run = await spawnCli(dataDir, ["tokens", "revoke", "--id", created.id], { env: { REDIS_URL: redisUrl() } });
    assert.equal(run.status, 0, run.stderr);
    for (const app of [a.app, b.app]) await refusedWithin(app, created.token, 100);
  });
});

describe("API token cache: storage reads (unit)", () => {
  let identity: IdentityContext;
  before(async () => {
    identity = await openIdentity(loadConfig({ env: { RAMPART_DATA_DIR: mkdtempSync(join(tmpdir(), "rampart-apitoken-unit-")) } }), pino({ level: "silent" }));
  });
  after(async () => {
    await identity?.close();
  });

  it("a cached token costs no storage read; a change clears it; a lookup racing a change does not refill it", async () => {
    const user = await identity.repos.users.create({ email: `u-${Date.now()}@example.com`, passwordHash: "x", roles: ["user"] });
    const generated = generateApiToken();
    await identity.repos.apiTokens.insert({ userId: user.id, name: "n", prefix: generated.prefix, secretHash: generated.secretHash, scopes: ["profile:read"] });
    let reads = 0;
    const find = identity.repos.apiTokens.findBySecretHash.bind(identity.repos.apiTokens);
    identity.repos.apiTokens.findBySecretHash = (hash) => {
      reads++;
      return find(hash);
    };
    const authenticator = createAuthenticator(identity);
    const request = {
      headers: { authorization: `Bearer ${generated.token}` },
      routeOptions: { url: "/x", config: {} },
      rampart: { client: { ip: IP, scheme: "http" }, principal: undefined },
    } as unknown as PipelineRequest;
    const authenticate = () => authenticator.authenticate(request, {} as never);
    assert.ok(await authenticate());
    const cached = authenticate();
    assert.ok(cached && !(cached instanceof Promise), "a cached token and owner answer synchronously");
    for (let i = 0; i < 50; i++) await authenticate();
    assert.equal(reads, 1, "one storage read for 52 requests");

    identity.userChanged(user.id);
    assert.ok(await authenticate());
    assert.equal(reads, 2, "a change to the owner or a token clears the cache");

    identity.userChanged(user.id);
    const racing = authenticate(); // reads storage...
    identity.userChanged(user.id); // ...while a change clears the cache
    assert.ok(await racing);
    assert.ok(await authenticate());
    assert.equal(reads, 4, "the lookup that raced the change did not refill the cache");
  });
});
