/**
 * API tokens end to end: creation shown once, listing without the secret, both header schemes, scopes
 * that only ever narrow the owner's permissions, checksum refusal before any storage lookup, revocation
 * taking effect at once, and object-level isolation between users.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyRequest } from "fastify";
import pino from "pino";
import { generateApiToken } from "../../../src/core/tokens/index.ts";
import { createApiTokenCache } from "../../../src/identity/api-token-cache.ts";
import { createAuthenticator } from "../../../src/identity/authenticator.ts";
import type { IdentityContext } from "../../../src/identity/context.ts";
import {
  assertInvalidToken,
  assertProblem,
  bearer,
  type IdentityApp,
  me,
  openStore,
  signUp,
  startIdentityApp,
  type TokenPair,
} from "../../support/identity.ts";

const IP = "10.14.0.1";

interface CreatedToken {
  id: string;
  name: string;
  token: string;
  scopes: string[];
  expires_at: string | null;
}

describe("API tokens", () => {
  let t: IdentityApp;
  let owner: { id: string; tokens: TokenPair };
  let stranger: { id: string; tokens: TokenPair };
  /** What the owner may do, as /auth/me reports it for their session. */
  let ownerPermissions: string[];

  const create = (accessToken: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: "POST", url: "/auth/tokens", remoteAddress: IP, headers: bearer(accessToken), payload });
  const createOk = async (accessToken: string, name: string, scopes: string[], extra: Record<string, unknown> = {}) => {
    const response = await create(accessToken, { name, scopes, ...extra });
    assert.equal(response.statusCode, 201, response.body);
    return response.json() as CreatedToken;
  };
  const list = (authorization: string) =>
    t.app.inject({ method: "GET", url: "/auth/tokens", remoteAddress: IP, headers: { authorization } });
  const remove = (accessToken: string, id: string) =>
    t.app.inject({ method: "DELETE", url: `/auth/tokens/${id}`, remoteAddress: IP, headers: bearer(accessToken) });

  before(async () => {
    t = await startIdentityApp();
    owner = await signUp(t.app, "tokens-owner@example.com", IP);
    stranger = await signUp(t.app, "tokens-stranger@example.com", IP);
    ownerPermissions = (await me(t.app, owner.tokens.access_token, IP)).json().permissions;
    assert.ok(ownerPermissions.includes("notes:read") && ownerPermissions.includes("tokens:manage"), String(ownerPermissions));
  });
  after(async () => {
    await t.close();
  });

  it("create: 201 {id, name, token, scopes, expires_at}, the token rmp_-prefixed", async () => {
    const created = await createOk(owner.tokens.access_token, "ci", ["notes:read"]);
    assert.deepEqual(Object.keys(created).sort(), ["expires_at", "id", "name", "scopes", "token"]);
    assert.match(created.token, /^rmp_[0-9A-Za-z]{49}$/);
    assert.equal(created.name, "ci");
    assert.deepEqual(created.scopes, ["notes:read"]);
    // No open-ended tokens: without expires_in_days the longest allowed lifetime (365 days) applies.
    const defaultDays = (Date.parse(String(created.expires_at)) - Date.now()) / 86_400_000;
    assert.ok(defaultDays > 364.9 && defaultDays <= 365, `default lifetime ${defaultDays} days`);

    const expiring = await createOk(owner.tokens.access_token, "short-lived", ["notes:read"], { expires_in_days: 7 });
    const days = (Date.parse(String(expiring.expires_at)) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, `expires in ${days} days`);
  });

  it("list: shows the token without its secret; prefix is a prefix of the token", async () => {
    const created = await createOk(owner.tokens.access_token, "listed", ["notes:read"]);
    const response = await list(`Bearer ${owner.tokens.access_token}`);
    assert.equal(response.statusCode, 200, response.body);
    assert.ok(!response.body.includes(created.token), "the token string is nowhere in the listing");
    assert.ok(!response.body.includes(created.token.slice(12)), "nor its secret part");
    assert.doesNotMatch(response.body, /secret|hash/i);
    const entry = (response.json() as Record<string, unknown>[]).find((e) => e.id === created.id);
    assert.ok(entry, "the new token is listed");
    assert.deepEqual(Object.keys(entry).sort(), ["created_at", "expires_at", "id", "last_used_at", "name", "prefix", "scopes"]);
    assert.equal(typeof entry.prefix, "string");
    assert.ok(created.token.startsWith(entry.prefix as string), "prefix is a prefix of the token");
    assert.ok((entry.prefix as string).length < created.token.length / 2, "the prefix does not give away the secret");
    // The stranger's listing does not show it.
    assert.ok(!(await list(`Bearer ${stranger.tokens.access_token}`)).body.includes(created.id));
  });

  it("storage holds only a hash: no column of the row contains the token", async () => {
    const created = await createOk(owner.tokens.access_token, "stored", ["notes:read"]);
    const store = await openStore(t.dataDir);
    try {
      const row = await store.database.db.selectFrom("api_tokens").selectAll().where("id", "=", created.id).executeTakeFirst();
      assert.ok(row);
      const text = JSON.stringify(row);
      assert.ok(!text.includes(created.token.slice(4)), "the secret part is not stored");
    } finally {
      await store.close();
    }
  });

  it("works as Authorization: Bearer rmp_… and Token rmp_…, with permissions narrowed to its scopes", async () => {
    const created = await createOk(owner.tokens.access_token, "reader", ["notes:read"]);
    for (const scheme of ["Bearer", "Token"]) {
      const response = await me(t.app, created.token, IP, scheme);
      assert.equal(response.statusCode, 200, `${scheme}: ${response.body}`);
      assert.equal(response.json().id, owner.id);
      assert.deepEqual(response.json().permissions, ["notes:read"]);
    }
  });

  it("using a token records last_used_at in the listing", async () => {
    const created = await createOk(owner.tokens.access_token, "touched", ["notes:read"]);
    const lastUsed = async () =>
      ((await list(`Bearer ${owner.tokens.access_token}`)).json() as Record<string, unknown>[]).find((e) => e.id === created.id)?.last_used_at;
    assert.equal(await lastUsed(), null, "never used yet");
    const before = Date.now();
    assert.equal((await me(t.app, created.token, IP)).statusCode, 200);
    let value: unknown = null;
    for (let i = 0; i < 20 && value === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      value = await lastUsed();
    }
    assert.equal(typeof value, "string");
    assert.ok(Date.parse(value as string) >= before - 1000, String(value));
  });

  it("a notes:read token gets 403 insufficient_scope on GET /auth/tokens, which its owner may call", async () => {
    const created = await createOk(owner.tokens.access_token, "narrow", ["notes:read"]);
    assert.equal((await list(`Bearer ${owner.tokens.access_token}`)).statusCode, 200);
    const response = await list(`Bearer ${created.token}`);
    assertProblem(response, 403);
    assert.match(String(response.headers["www-authenticate"]), /^Bearer\b/);
    assert.match(String(response.headers["www-authenticate"]), /error="insufficient_scope"/);
    assert.doesNotMatch(response.body, /rmp_/);
  });

  it("a * token owned by a user has exactly the user's permissions, never more", async () => {
    const created = await createOk(owner.tokens.access_token, "everything", ["*"]);
    const response = await me(t.app, created.token, IP);
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual([...response.json().permissions].sort(), [...ownerPermissions].sort());
    assert.deepEqual(response.json().roles, ["user"]);
    // A scope the owner does not hold grants nothing.
    const adminScoped = await createOk(owner.tokens.access_token, "wishful", ["users:admin", "roles:admin"]);
    assert.deepEqual((await me(t.app, adminScoped.token, IP)).json().permissions, []);
  });

  it("an API token cannot mint API tokens (no way to widen a narrow token), and nothing is created", async () => {
    const created = await createOk(owner.tokens.access_token, "minter", ["tokens:manage"]);
    const countBefore = (await list(`Bearer ${owner.tokens.access_token}`)).json().length;
    const response = await t.app.inject({
      method: "POST",
      url: "/auth/tokens",
      remoteAddress: IP,
      headers: { authorization: `Bearer ${created.token}` },
      payload: { name: "wider", scopes: ["*"] },
    });
    assert.ok([401, 403].includes(response.statusCode), `${response.statusCode} ${response.body}`);
    assert.doesNotMatch(response.body, /rmp_/);
    assert.equal((await list(`Bearer ${owner.tokens.access_token}`)).json().length, countBefore);
  });

  it("a bad checksum (last character flipped) is 401", async () => {
    const created = await createOk(owner.tokens.access_token, "typo", ["notes:read"]);
    const last = created.token.at(-1);
    const flipped = `${created.token.slice(0, -1)}${last === "a" ? "b" : "a"}`;
    for (const scheme of ["Bearer", "Token"]) assertInvalidToken(await me(t.app, flipped, IP, scheme), scheme);
    for (const garbage of ["rmp_", "rmp_short", `rmp_${"!".repeat(49)}`, `RMP_${created.token.slice(4)}`]) {
      assertInvalidToken(await me(t.app, garbage, IP, "Token"), garbage);
    }
    // The real one still works (the refusals changed nothing).
    assert.equal((await me(t.app, created.token, IP)).statusCode, 200);
  });

  it("an expired token is 401", async () => {
    const generated = generateApiToken();
    const store = await openStore(t.dataDir);
    try {
      await store.repos.apiTokens.insert({
        userId: owner.id,
        name: "expired",
        prefix: generated.prefix,
        secretHash: generated.secretHash,
        scopes: ["notes:read"],
        expiresAt: new Date(Date.now() - 1000),
      });
    } finally {
      await store.close();
    }
    assertInvalidToken(await me(t.app, generated.token, IP));
  });

  it("DELETE /auth/tokens/{id}: 204, then the token is refused at once and no longer listed", async () => {
    const created = await createOk(owner.tokens.access_token, "doomed", ["notes:read"]);
    assert.equal((await me(t.app, created.token, IP)).statusCode, 200, "works before");
    const response = await remove(owner.tokens.access_token, created.id);
    assert.equal(response.statusCode, 204, response.body);
    assertInvalidToken(await me(t.app, created.token, IP));
    assertInvalidToken(await me(t.app, created.token, IP, "Token"));
    assert.ok(!(await list(`Bearer ${owner.tokens.access_token}`)).body.includes(created.id));
    assertProblem(await remove(owner.tokens.access_token, created.id), 404);
  });

  it("deleting someone else's token is 404 (as for an unknown id) and it keeps working", async () => {
    const theirs = await createOk(stranger.tokens.access_token, "theirs", ["notes:read"]);
    const response = await remove(owner.tokens.access_token, theirs.id);
    const unknown = await remove(owner.tokens.access_token, "00000000-0000-0000-0000-000000000000");
    const a = assertProblem(response, 404);
    const b = assertProblem(unknown, 404);
    assert.equal(a.detail, b.detail);
    assert.equal((await me(t.app, theirs.token, IP)).statusCode, 200);
    assert.ok((await list(`Bearer ${stranger.tokens.access_token}`)).body.includes(theirs.id));
  });

  it("refuses an invalid scope, an unknown field, and out-of-range expiry with 400, creating nothing", async () => {
    const countBefore = (await list(`Bearer ${owner.tokens.access_token}`)).json().length;
    const bodies: Record<string, unknown>[] = [
      { name: "bad", scopes: ["not a scope"] },
      { name: "bad", scopes: ["NOTES:READ"] },
      { name: "bad", scopes: ["notes:read", "notes:read"] },
      { name: "bad", scopes: [] },
      { name: "bad", scopes: [""] },
      { name: "bad", scopes: ["notes:read"], user_id: stranger.id },
      { name: "bad", scopes: ["notes:read"], expires_in_days: 0 },
      { name: "bad", scopes: ["notes:read"], expires_in_days: t.config.tokens.apiTokenMaxDays + 1 },
      { name: "", scopes: ["notes:read"] },
    ];
    for (const body of bodies) assertProblem(await create(owner.tokens.access_token, body), 400, JSON.stringify(body));
    const invalid = assertProblem(await create(owner.tokens.access_token, { name: "bad", scopes: ["notes:read", "not a scope"] }), 400);
    assert.deepEqual(
      (invalid.errors as { pointer: string }[]).map((e) => e.pointer),
      ["/scopes/1"],
    );
    assert.equal((await list(`Bearer ${owner.tokens.access_token}`)).json().length, countBefore);
  });
});

describe("the API-token checksum is checked before any storage lookup (unit)", () => {
  function fakeIdentity() {
    const calls = { findBySecretHash: 0 };
    const identity = {
      config: { production: false },
      logger: pino({ level: "silent" }),
      repos: {
        apiTokens: {
          findBySecretHash: async () => {
            calls.findBySecretHash++;
            return undefined;
          },
          touchLastUsed: async () => {},
        },
      },
      users: { get: async () => undefined, load: async () => undefined },
      // No Redis and no change detector (as on PostgreSQL alone): every token is read from storage.
      database: { changedElsewhere: undefined },
      apiTokens: createApiTokenCache(),
      revocationsInSync: () => true,
    } as unknown as IdentityContext;
    return { identity, calls };
  }
  const fakeRequest = (authorization: string) =>
    ({ headers: { authorization }, routeOptions: { config: {} }, rampart: { client: { scheme: "http" } }, server: { parseCookie: () => ({}) } }) as unknown as FastifyRequest;

  it("a bad checksum never reaches findBySecretHash; a well-formed unknown token does (control)", async () => {
    const { identity, calls } = fakeIdentity();
    const authenticator = createAuthenticator(identity);
    const good = generateApiToken().token;
    const bad = `${good.slice(0, -1)}${good.at(-1) === "a" ? "b" : "a"}`;
    for (const authorization of [`Bearer ${bad}`, `Token ${bad}`, "Token rmp_x", `Token ${good.slice(0, -1)}`]) {
      await assert.rejects(
        async () => authenticator.authenticate(fakeRequest(authorization), undefined as never),
        (error: { code?: string }) => error.code === "RAMPART_ERR_INVALID_TOKEN",
      );
    }
    assert.equal(calls.findBySecretHash, 0);

    await assert.rejects(
      async () => authenticator.authenticate(fakeRequest(`Bearer ${good}`), undefined as never),
      (error: { code?: string }) => error.code === "RAMPART_ERR_INVALID_TOKEN",
    );
    assert.equal(calls.findBySecretHash, 1, "the control reaches storage");
  });
});
