/**
 * `GET /admin/diagnostics/client-resolution` on the reference server: behind a proxy that is not
 * trusted, every request seems to come from the proxy, and the admin is told so with the fix. The
 * route lists client addresses: admins only (users:admin), never cached.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { type AuthzServer, createUser, send, setRolesInStore, startServer, type TestUser } from "../support/authz.ts";
import { assertProblem, signUp, startIdentityApp, type IdentityApp } from "../support/identity.ts";

const URL = "/admin/diagnostics/client-resolution";

interface Diagnostic {
  configuration: { trusted_proxies: string[]; proxy_headers: string; honoured_headers: string[]; https_enforced: boolean; client_ip: string };
  sample: { size: number; capacity: number; with_proxy_headers: number; from_trusted_proxies: number; proxy_headers_ignored: number; oldest: string | null };
  peers: { address: string; count: number }[];
  clients: { address: string; count: number }[];
  schemes: { scheme: string; count: number }[];
  warnings: { code: string; message: string }[];
}

/** 25 requests through "the proxy": each carries its client's address in X-Forwarded-For. */
async function throughProxy(app: FastifyInstance, proxy: string): Promise<void> {
  for (let i = 1; i <= 25; i++) {
    const response = await app.inject({ method: "GET", url: "/healthz", remoteAddress: proxy, headers: { "x-forwarded-for": `203.0.113.${i}`, "x-forwarded-proto": "http" } });
    assert.equal(response.statusCode, 200);
  }
}

describe("GET /admin/diagnostics/client-resolution behind an untrusted proxy", () => {
  // Every request of this suite, the admin's and the user's included, arrives from the proxy.
  const PROXY = "10.61.0.9";
  let server: AuthzServer;
  let admin: TestUser;
  let user: TestUser;

  before(async () => {
    server = await startServer();
    admin = await createUser(server.app, "diag-admin", PROXY);
    await setRolesInStore(server.dataDir, admin.id, ["admin"]);
    user = await createUser(server.app, "diag-user", PROXY);
    await throughProxy(server.app, PROXY);
  });

  after(async () => {
    await server.close();
  });

  it("anonymous: 401", async () => {
    assertProblem(await send(server.app, PROXY, undefined, "GET", URL), 401);
  });

  it("a plain user: 403", async () => {
    assertProblem(await send(server.app, PROXY, user.access_token, "GET", URL), 403);
  });

  it("an admin sees the counts and the warning naming the proxy and the setting, uncached", async () => {
    const response = await send(server.app, PROXY, admin.access_token, "GET", URL);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.headers["cache-control"], "no-store");
    const body = response.json() as Diagnostic;
    assert.deepEqual(body.configuration.trusted_proxies, []);
    assert.deepEqual(body.configuration.honoured_headers, []);
    assert.match(body.configuration.client_ip, /^the socket address/);
    assert.equal(body.sample.capacity, 512);
    assert.ok(body.sample.size >= 25 + 4, `the proxied requests, logins and refusals are sampled: ${body.sample.size}`);
    assert.ok(body.sample.oldest);
    assert.equal(body.sample.proxy_headers_ignored, 25);
    assert.equal(body.sample.from_trusted_proxies, 0);
    assert.deepEqual(body.clients, [{ address: PROXY, count: body.sample.size }], "X-Forwarded-For was not believed");
    assert.deepEqual(body.peers, [{ address: PROXY, count: body.sample.size }]);
    assert.deepEqual(body.schemes, [{ scheme: "http", count: body.sample.size }]);
    assert.deepEqual(
      body.warnings.map((w) => w.code),
      ["RAMPART_WARN_ONE_CLIENT_ADDRESS"],
    );
    const message = body.warnings[0]?.message ?? "";
    assert.match(message, new RegExp(`every request seems to come from ${PROXY.replaceAll(".", "\\.")}`));
    assert.match(message, /not a trusted proxy/);
    assert.match(message, /RAMPART_TRUSTED_PROXIES/);
  });

  it("is in the route table with users:admin, and in the OpenAPI document", async () => {
    const entry = server.app.rampartRoutes().find((route) => route.url === URL && route.method === "GET");
    assert.deepEqual(entry?.permissions, ["users:admin"]);
    const doc = (await server.app.inject({ method: "GET", url: "/openapi.json", remoteAddress: PROXY })).json() as { paths: Record<string, { get?: { responses?: Record<string, unknown> } }> };
    assert.ok(doc.paths[URL]?.get?.responses?.["200"], "documented with its 200 response");
  });
});

describe("GET /admin/diagnostics/client-resolution behind a trusted proxy", () => {
  const PROXY = "10.62.0.9";
  let identity: IdentityApp;

  before(async () => {
    identity = await startIdentityApp({ env: { RAMPART_TRUSTED_PROXIES: "10.62.0.0/16" } });
  });

  after(async () => {
    await identity.close();
  });

  it("clients come from X-Forwarded-For and no warning is raised", async () => {
    const { id, tokens } = await signUp(identity.app, "diag-admin@example.com", PROXY);
    await setRolesInStore(identity.dataDir, id, ["admin"]);
    await throughProxy(identity.app, PROXY);
    const response = await identity.app.inject({ method: "GET", url: URL, remoteAddress: PROXY, headers: { authorization: `Bearer ${tokens.access_token}`, "x-forwarded-for": "198.51.100.77" } });
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json() as Diagnostic;
    assert.deepEqual(body.configuration.trusted_proxies, ["10.62.0.0/16"]);
    assert.deepEqual(body.configuration.honoured_headers, ["Forwarded", "X-Forwarded-For", "X-Forwarded-Proto"]);
    assert.equal(body.sample.proxy_headers_ignored, 0);
    assert.ok(body.clients.some((c) => c.address === "203.0.113.1"), JSON.stringify(body.clients));
    assert.ok(body.clients.length > 1);
    assert.deepEqual(body.warnings, []);
  });
});
