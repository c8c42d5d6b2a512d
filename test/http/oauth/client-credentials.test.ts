/**
 * OAuth 2.0 client credentials over HTTP (CONTRACT.md "Service clients"): admin creates a client, the
 * client gets tokens (Basic and client_secret_post), uses them within its scopes, introspects and
 * revokes them; errors are RFC 6749 §5.2 JSON; deleting the client kills its tokens at once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { bearer, type IdentityApp, jwtPart, openStore, signUp, startIdentityApp } from "../../support/identity.ts";

const FORM = { "content-type": "application/x-www-form-urlencoded" };
let ipCounter = 10;
const nextIp = () => `198.51.100.${ipCounter++}`;

interface Client {
  client_id: string;
  client_secret: string;
  scopes: string[];
}

const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`,
});
const form = (params: Record<string, string>) => new URLSearchParams(params).toString();

function tokenRequest(app: FastifyInstance, params: Record<string, string>, headers: Record<string, string> = {}, ip = nextIp()) {
  return app.inject({ method: "POST", url: "/oauth/token", remoteAddress: ip, headers: { ...FORM, ...headers }, payload: form(params) });
}

function assertOAuthError(response: LightMyRequestResponse, status: number, error: string): void {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers["content-type"]), /^application\/json/);
  assert.equal(response.headers["cache-control"], "no-store");
  const body = response.json() as { error: string; error_description?: string };
  assert.equal(body.error, error, response.body);
  if (status === 401) assert.match(String(response.headers["www-authenticate"]), /^Basic\b/);
}

describe("OAuth 2.0 client credentials", () => {
  let server: IdentityApp;
  let admin: string;

  async function createClient(scopes: string[], name = "svc"): Promise<Client> {
    const res = await server.app.inject({
      method: "POST",
      url: "/admin/clients",
      remoteAddress: nextIp(),
      headers: bearer(admin),
      payload: { name, scopes },
    });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json() as Client;
    assert.match(body.client_id, /^rmpc_/);
    assert.match(body.client_secret, /^rmps_/);
    return body;
  }

  async function tokenFor(client: Client, scope?: string): Promise<string> {
    const res = await tokenRequest(server.app, { grant_type: "client_credentials", ...(scope ? { scope } : {}) }, basic(client.client_id, client.client_secret));
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as { access_token: string }).access_token;
  }

  function introspect(client: Client, token: string) {
    return server.app.inject({
      method: "POST",
      url: "/oauth/introspect",
      remoteAddress: nextIp(),
      headers: { ...FORM, ...basic(client.client_id, client.client_secret) },
      payload: form({ token }),
    });
  }

  before(async () => {
    server = await startIdentityApp({ captureLogs: "info", overrides: { tokens: { issuer: "https://auth.example.test" } } });
    const email = `admin-${Date.now()}@example.com`;
    const { id } = await signUp(server.app, email, nextIp());
    const store = await openStore(server.dataDir);
    await store.repos.users.setRoles(id, ["admin"]);
    await store.close();
    const res = await server.app.inject({
      method: "POST",
      url: "/auth/login",
      remoteAddress: nextIp(),
      payload: { email, password: "correct horse battery staple" },
    });
    assert.equal(res.statusCode, 200, res.body);
    admin = (res.json() as { access_token: string }).access_token;
  });

  after(async () => {
    await server?.close();
  });

  it("a client gets a token by HTTP Basic: a JWT with sub = client_id = the client and its scopes", async () => {
    const client = await createClient(["notes:read", "profile:read"]);
    const res = await tokenRequest(server.app, { grant_type: "client_credentials" }, basic(client.client_id, client.client_secret));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers["cache-control"], "no-store");
    const body = res.json() as { access_token: string; token_type: string; expires_in: number; scope: string };
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, server.config.tokens.accessTtlSeconds);
    assert.equal(body.scope, "notes:read profile:read");
    const claims = jwtPart(body.access_token, 1);
    assert.equal(claims.sub, client.client_id);
    assert.equal(claims.client_id, client.client_id);
    assert.deepEqual(claims.roles, []);
    assert.equal(claims.iss, "https://auth.example.test");
  });

  it("a client gets a token by client_secret_post, narrowed to the requested scope", async () => {
    const client = await createClient(["notes:*"]);
    const res = await tokenRequest(server.app, {
      grant_type: "client_credentials",
      scope: "notes:read",
      client_id: client.client_id,
      client_secret: client.client_secret,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((res.json() as { scope: string }).scope, "notes:read");
  });

  it("a scope beyond the client's is invalid_scope (400)", async () => {
    const client = await createClient(["notes:read"]);
    const res = await tokenRequest(server.app, { grant_type: "client_credentials", scope: "notes:write" }, basic(client.client_id, client.client_secret));
    assertOAuthError(res, 400, "invalid_scope");
    assertOAuthError(
      await tokenRequest(server.app, { grant_type: "client_credentials", scope: "users:admin" }, basic(client.client_id, client.client_secret)),
      400,
      "invalid_scope",
    );
  });

  it("a wrong secret, an unknown client or no credentials is invalid_client (401, WWW-Authenticate: Basic)", async () => {
    const client = await createClient(["notes:read"]);
    const other = await createClient(["notes:read"]);
    assertOAuthError(await tokenRequest(server.app, { grant_type: "client_credentials" }, basic(client.client_id, other.client_secret)), 401, "invalid_client");
    assertOAuthError(await tokenRequest(server.app, { grant_type: "client_credentials" }, basic("rmpc_nosuchclient0000000000", client.client_secret)), 401, "invalid_client");
    assertOAuthError(await tokenRequest(server.app, { grant_type: "client_credentials" }), 401, "invalid_client");
    assertOAuthError(await tokenRequest(server.app, { grant_type: "client_credentials" }, { authorization: "Bearer abc" }), 401, "invalid_client");
  });

  it("both authentication methods at once are refused (invalid_request)", async () => {
    const client = await createClient(["notes:read"]);
    const res = await tokenRequest(
      server.app,
      { grant_type: "client_credentials", client_id: client.client_id, client_secret: client.client_secret },
      basic(client.client_id, client.client_secret),
    );
    assertOAuthError(res, 400, "invalid_request");
  });

  it("an unsupported grant is unsupported_grant_type; a missing one, a repeated parameter or a JSON body invalid_request", async () => {
    const client = await createClient(["notes:read"]);
    const auth = basic(client.client_id, client.client_secret);
    assertOAuthError(await tokenRequest(server.app, { grant_type: "password" }, auth), 400, "unsupported_grant_type");
    assertOAuthError(await tokenRequest(server.app, {}, auth), 400, "invalid_request");
    const repeated = await server.app.inject({
      method: "POST",
      url: "/oauth/token",
      remoteAddress: nextIp(),
      headers: { ...FORM, ...auth },
      payload: "grant_type=client_credentials&grant_type=client_credentials",
    });
    assertOAuthError(repeated, 400, "invalid_request");
    const json = await server.app.inject({
      method: "POST",
      url: "/oauth/token",
      remoteAddress: nextIp(),
      headers: { "content-type": "application/json", ...auth },
      payload: { grant_type: "client_credentials" },
    });
    assertOAuthError(json, 400, "invalid_request");
  });

  it("the rest of the API stays JSON-only: a form body elsewhere is 415", async () => {
    const res = await server.app.inject({ method: "POST", url: "/auth/login", remoteAddress: nextIp(), headers: FORM, payload: "email=a@b.c&password=x" });
    assert.equal(res.statusCode, 415, res.body);
  });

  it("its token works where its scopes allow (GET /api/notes: its own, none) and is 403 elsewhere", async () => {
    const client = await createClient(["notes:read"]);
    const token = await tokenFor(client);
    const notes = await server.app.inject({ method: "GET", url: "/api/notes", remoteAddress: nextIp(), headers: bearer(token) });
    assert.equal(notes.statusCode, 200, notes.body);
    assert.deepEqual((notes.json() as { items: unknown[] }).items, [], "a client owns no notes");
    const write = await server.app.inject({ method: "POST", url: "/api/notes", remoteAddress: nextIp(), headers: bearer(token), payload: { title: "x" } });
    assert.equal(write.statusCode, 403, write.body);
    const adminUsers = await server.app.inject({ method: "GET", url: "/admin/users", remoteAddress: nextIp(), headers: bearer(token) });
    assert.equal(adminUsers.statusCode, 403, adminUsers.body);
    const clients = await server.app.inject({ method: "GET", url: "/admin/clients", remoteAddress: nextIp(), headers: bearer(token) });
    assert.equal(clients.statusCode, 403, clients.body);
  });

  it("a client is no user: even holding notes:write and tokens:manage it owns no notes, API tokens or account (403, not a 500)", async () => {
    const client = await createClient(["notes:write", "notes:read", "tokens:manage", "profile:read"]);
    const token = await tokenFor(client);
    const call = (method: "GET" | "POST", url: string, payload?: object) =>
      server.app.inject({ method, url, remoteAddress: nextIp(), headers: bearer(token), ...(payload ? { payload } : {}) });
    for (const response of [
      await call("POST", "/api/notes", { title: "x" }),
      await call("POST", "/auth/tokens", { name: "t", scopes: ["notes:read"] }),
      await call("GET", "/auth/tokens"),
      await call("GET", "/auth/me"),
      await call("POST", "/auth/mfa/totp"),
      await call("POST", "/auth/webauthn/register/options", {}),
    ]) {
      assert.equal(response.statusCode, 403, response.body);
      assert.equal(response.headers["content-type"], "application/problem+json; charset=utf-8");
    }
  });

  it("introspection: active, then inactive after /oauth/revoke; garbage is inactive, never an error", async () => {
    const client = await createClient(["notes:read"]);
    const token = await tokenFor(client);
    const live = await introspect(client, token);
    assert.equal(live.statusCode, 200, live.body);
    const body = live.json() as Record<string, unknown>;
    assert.equal(body.active, true);
    assert.equal(body.client_id, client.client_id);
    assert.equal(body.sub, client.client_id);
    assert.equal(body.scope, "notes:read");
    assert.equal(body.token_type, "Bearer");
    assert.equal(typeof body.exp, "number");

    // Another client may revoke it: 200, and nothing happens (RFC 7009 §2.1).
    const other = await createClient(["notes:read"]);
    const foreign = await server.app.inject({
      method: "POST",
      url: "/oauth/revoke",
      remoteAddress: nextIp(),
      headers: { ...FORM, ...basic(other.client_id, other.client_secret) },
      payload: form({ token, token_type_hint: "access_token" }),
    });
    assert.equal(foreign.statusCode, 200, foreign.body);
    assert.equal((await introspect(client, token)).json().active, true);

    const revoked = await server.app.inject({
      method: "POST",
      url: "/oauth/revoke",
      remoteAddress: nextIp(),
      headers: { ...FORM, ...basic(client.client_id, client.client_secret) },
      payload: form({ token, token_type_hint: "refresh_token" }),
    });
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.deepEqual((await introspect(client, token)).json(), { active: false });
    const refused = await server.app.inject({ method: "GET", url: "/api/notes", remoteAddress: nextIp(), headers: bearer(token) });
    assert.equal(refused.statusCode, 401);

    for (const junk of ["", "abc", `${token}x`, "rmp_nothing"]) {
      const res = await introspect(client, junk);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { active: false });
    }
    // A user's live token is introspectable too (same issuer); it carries no scope.
    const user = await introspect(client, admin);
    assert.equal(user.json().active, true);
    assert.equal(user.json().client_id, "rampart");
  });

  it("introspection and revocation need an authenticated client", async () => {
    const noAuth = await server.app.inject({ method: "POST", url: "/oauth/introspect", remoteAddress: nextIp(), headers: FORM, payload: form({ token: "x" }) });
    assertOAuthError(noAuth, 401, "invalid_client");
    const userBearer = await server.app.inject({ method: "POST", url: "/oauth/revoke", remoteAddress: nextIp(), headers: { ...FORM, ...bearer(admin) }, payload: form({ token: "x" }) });
    assertOAuthError(userBearer, 401, "invalid_client");
  });

  it("DELETE /admin/clients/{id} makes its tokens inactive and refused at once, and it can no longer authenticate", async () => {
    const client = await createClient(["notes:read"]);
    const watcher = await createClient(["notes:read"]);
    const token = await tokenFor(client);
    assert.equal((await server.app.inject({ method: "GET", url: "/api/notes", remoteAddress: nextIp(), headers: bearer(token) })).statusCode, 200);
    const deleted = await server.app.inject({ method: "DELETE", url: `/admin/clients/${client.client_id}`, remoteAddress: nextIp(), headers: bearer(admin) });
    assert.equal(deleted.statusCode, 204, deleted.body);
    assert.equal((await server.app.inject({ method: "GET", url: "/api/notes", remoteAddress: nextIp(), headers: bearer(token) })).statusCode, 401);
    assert.deepEqual((await introspect(watcher, token)).json(), { active: false });
    assertOAuthError(await tokenRequest(server.app, { grant_type: "client_credentials" }, basic(client.client_id, client.client_secret)), 401, "invalid_client");
    const again = await server.app.inject({ method: "DELETE", url: `/admin/clients/${client.client_id}`, remoteAddress: nextIp(), headers: bearer(admin) });
    assert.equal(again.statusCode, 404);
  });

  it("a deleted client's token stays refused after a restart (same data dir)", async () => {
    const client = await createClient(["notes:read"]);
    const token = await tokenFor(client);
    const deleted = await server.app.inject({ method: "DELETE", url: `/admin/clients/${client.client_id}`, remoteAddress: nextIp(), headers: bearer(admin) });
    assert.equal(deleted.statusCode, 204);
    const second = await startIdentityApp({ dataDir: server.dataDir, overrides: { tokens: { issuer: "https://auth.example.test" } } });
    try {
      assert.equal((await second.app.inject({ method: "GET", url: "/api/notes", remoteAddress: nextIp(), headers: bearer(token) })).statusCode, 401);
    } finally {
      await second.close();
    }
  });

  it("GET /admin/clients lists clients without their secrets; neither the secret nor the token reaches the logs", async () => {
    const client = await createClient(["notes:read"], "listed");
    const token = await tokenFor(client);
    const res = await server.app.inject({ method: "GET", url: "/admin/clients", remoteAddress: nextIp(), headers: bearer(admin) });
    assert.equal(res.statusCode, 200, res.body);
    const listed = (res.json() as Record<string, unknown>[]).find((c) => c.client_id === client.client_id);
    assert.deepEqual(Object.keys(listed ?? {}).sort(), ["client_id", "created_at", "name", "scopes"]);
    assert.ok(!res.body.includes(client.client_secret));
    assert.ok(!res.body.includes("rmps_"));
    const logs = server.logs.join("");
    assert.ok(logs.includes("client.token.issued"), "the issuance is audited");
    assert.ok(!logs.includes(client.client_secret), "the secret is never logged");
    assert.ok(!logs.includes(token), "the token is never logged");
    const audit = await server.app.inject({ method: "GET", url: "/admin/audit?type=client.created", remoteAddress: nextIp(), headers: bearer(admin) });
    assert.ok(!audit.body.includes(client.client_secret));
  });

  it("a client's scopes must be permissions, held by the creating admin", async () => {
    const bad = await server.app.inject({ method: "POST", url: "/admin/clients", remoteAddress: nextIp(), headers: bearer(admin), payload: { name: "x", scopes: ["not a permission"] } });
    assert.equal(bad.statusCode, 400, bad.body);
    const { tokens } = await signUp(server.app, `plain-${Date.now()}@example.com`, nextIp());
    const forbidden = await server.app.inject({ method: "POST", url: "/admin/clients", remoteAddress: nextIp(), headers: bearer(tokens.access_token), payload: { name: "x", scopes: ["notes:read"] } });
    assert.equal(forbidden.statusCode, 403, forbidden.body);
  });

  it("repeated wrong secrets are throttled like logins: 429 with Retry-After, even with the right secret", async () => {
    const client = await createClient(["notes:read"]);
    const other = await createClient(["notes:read"]);
    const ip = nextIp();
    let throttled: LightMyRequestResponse | undefined;
    for (let i = 0; i < 20 && !throttled; i++) {
      const res = await tokenRequest(server.app, { grant_type: "client_credentials" }, basic(client.client_id, other.client_secret), ip);
      if (res.statusCode === 429) throttled = res;
      else assertOAuthError(res, 401, "invalid_client");
    }
    assert.ok(throttled, "wrong secrets end in 429");
    assert.match(String(throttled.headers["retry-after"]), /^\d+$/);
    assert.match(String(throttled.headers["content-type"]), /^application\/problem\+json/);
    const right = await tokenRequest(server.app, { grant_type: "client_credentials" }, basic(client.client_id, client.client_secret), ip);
    assert.equal(right.statusCode, 429, "a locked (client, address) pair stays locked");
    const elsewhere = await tokenRequest(server.app, { grant_type: "client_credentials" }, basic(client.client_id, client.client_secret));
    assert.equal(elsewhere.statusCode, 200, "another address is not locked out");
  });

  it("GET /.well-known/oauth-authorization-server describes the endpoints from the issuer URL", async () => {
    const res = await server.app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server", remoteAddress: nextIp(), headers: { host: "evil.example" } });
    assert.equal(res.statusCode, 200, res.body);
    const doc = res.json() as Record<string, unknown>;
    assert.equal(doc.issuer, "https://auth.example.test");
    assert.equal(doc.token_endpoint, "https://auth.example.test/oauth/token");
    assert.equal(doc.introspection_endpoint, "https://auth.example.test/oauth/introspect");
    assert.equal(doc.revocation_endpoint, "https://auth.example.test/oauth/revoke");
    assert.equal(doc.jwks_uri, "https://auth.example.test/.well-known/jwks.json");
    assert.deepEqual(doc.grant_types_supported, ["client_credentials"]);
    assert.deepEqual(doc.token_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post"]);
    assert.ok(!res.body.includes("evil.example"), "never built from the Host header");
  });
});

describe("OAuth metadata without an issuer URL", () => {
  it("uses an allowed Host; in development without an allowlist, the request's well-formed Host", async () => {
    const open = await startIdentityApp();
    try {
      const res = await open.app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server", remoteAddress: nextIp(), headers: { host: "127.0.0.1:8080" } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().token_endpoint, "http://127.0.0.1:8080/oauth/token");
      const odd = await open.app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server", remoteAddress: nextIp(), headers: { host: "evil.example/@x" } });
      assert.notEqual(odd.statusCode, 200, "a Host that is not host[:port] never becomes a URL");
    } finally {
      await open.close();
    }
    const pinned = await startIdentityApp({ env: { RAMPART_ALLOWED_HOSTS: "api.example.test" } });
    try {
      const ok = await pinned.app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server", remoteAddress: nextIp(), headers: { host: "api.example.test" } });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().token_endpoint, "http://api.example.test/oauth/token");
      assert.equal(ok.json().issuer, "rampart");
      const evil = await pinned.app.inject({ method: "GET", url: "/.well-known/oauth-authorization-server", remoteAddress: nextIp(), headers: { host: "evil.example" } });
      assert.equal(evil.statusCode, 400, "a Host outside the allowlist never gets that far");
    } finally {
      await pinned.close();
    }
  });
});
