/**
 * One suite, every adapter (STYLE rule 15): the Fastify plugin and `rampart/express` serve the same
 * application, declared once, and must answer every check the same way. A behaviour that differs
 * between adapters is a bug; this is where it shows. Real HTTP on 127.0.0.1 for both, so the same
 * fetch-based checks run unchanged.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import express from "express";
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import { createRampart } from "../../src/express/index.ts";
import rampart, { type RampartOptions, type RouteSecurity } from "../../src/index.ts";

const PASSWORD = "correct horse battery staple";
const ALLOWED_ORIGIN = "https://app.example.com";

interface RouteSpec {
  method: "GET" | "POST";
  path: string;
  declaration?: RouteSecurity;
  /** Mounted inside a nested scope: a Fastify plugin, an express.Router(). */
  nested?: string;
  handler: (input: { user: string | undefined; body: unknown }) => { status: number; body: unknown };
}

interface Started {
  url: string;
  close(): Promise<void>;
}

interface Adapter {
  name: string;
  start(options: RampartOptions, routes: readonly RouteSpec[]): Promise<Started>;
  /** The start-up error for an app with this one route, or undefined if it started. */
  startupError(options: RampartOptions, route: RouteSpec): Promise<Error | undefined>;
}

async function listening(server: Server, close: () => Promise<void>): Promise<Started> {
  if (!server.listening) await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await close();
    },
  };
}

const fastifyAdapter: Adapter = {
  name: "fastify plugin",
  async start(options, routes) {
    const app = Fastify();
    await app.register(rampart, options);
    const add = (scope: FastifyInstance, spec: RouteSpec) =>
      scope.route({
        method: spec.method,
        url: spec.path,
        ...(spec.declaration ? { config: { rampart: spec.declaration } } : {}),
        handler: async (request, reply) => {
          const result = spec.handler({ user: request.rampart.principal?.userId, body: request.body });
          return reply.code(result.status).send(result.body);
        },
      });
    for (const spec of routes.filter((r) => !r.nested)) add(app, spec);
    for (const prefix of new Set(routes.flatMap((r) => (r.nested ? [r.nested] : [])))) {
      await app.register(
        async (scope) => {
          for (const spec of routes.filter((r) => r.nested === prefix)) add(scope, spec);
        },
        { prefix },
      );
    }
    await app.listen({ port: 0, host: "127.0.0.1" });
    return listening(app.server, () => app.close());
  },
  async startupError(options, route) {
    const app = Fastify();
    try {
      await app.register(rampart, options);
      app.route({ method: route.method, url: route.path, config: { rampart: route.declaration }, handler: async () => ({}) });
      await app.ready();
    } catch (error) {
      await app.close().catch(() => {});
      return error as Error;
    }
    await app.close();
    return undefined;
  },
};

const expressAdapter: Adapter = {
  name: "express adapter",
  async start(options, routes) {
    const protection = await createRampart({ ...options, logger: pino({ level: "silent" }) });
    const app = express();
    app.use(protection.pipeline);
    app.use(protection.json());
    const add = (router: express.Router, spec: RouteSpec) => {
      const handler: express.RequestHandler = (req, res) => {
        const result = spec.handler({ user: req.rampart.principal?.userId, body: req.body });
        res.status(result.status).json(result.body);
      };
      const handlers = spec.declaration ? [protection.route(spec.declaration), handler] : [handler];
      router[spec.method === "GET" ? "get" : "post"](spec.path, handlers);
    };
    for (const spec of routes.filter((r) => !r.nested)) add(app as unknown as express.Router, spec);
    for (const prefix of new Set(routes.flatMap((r) => (r.nested ? [r.nested] : [])))) {
      const router = express.Router();
      for (const spec of routes.filter((r) => r.nested === prefix)) add(router, spec);
      app.use(prefix, router);
    }
    app.use(protection.errors);
    const server = app.listen(0, "127.0.0.1");
    return listening(server, async () => {
      await new Promise((resolve) => server.close(resolve));
      await protection.close();
    });
  },
  async startupError(options, route) {
    const protection = await createRampart({ ...options, logger: pino({ level: "silent" }) });
    try {
      protection.route(route.declaration as RouteSecurity);
    } catch (error) {
      return error as Error;
    } finally {
      await protection.close();
    }
    return undefined;
  },
};

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "rampart-adapters-"));
  dirs.push(dir);
  return dir;
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

async function problem(response: Response, status: number, type?: string): Promise<void> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = JSON.parse(text);
  assert.equal(body.status, status);
  assert.equal(body.requestId, response.headers.get("x-request-id"));
  if (type) assert.equal(body.type, `https://rampart.dev/problems/${type}`);
}

async function signUp(url: string, email: string, prefix = ""): Promise<string> {
  const register = await fetch(`${url}${prefix}/auth/register`, json({ email, password: PASSWORD }));
  assert.equal(register.status, 201, await register.clone().text());
  const login = await fetch(`${url}${prefix}/auth/login`, json({ email, password: PASSWORD }));
  assert.equal(login.status, 200, await login.clone().text());
  return ((await login.json()) as { access_token: string }).access_token;
}

for (const adapter of [fastifyAdapter, expressAdapter]) {
  describe(`adapter parity: ${adapter.name}`, () => {
    let app: Started;
    let token: string;
    const calls = { undeclared: 0, nested: 0, notes: 0 };
    const ok = (body: unknown = { ok: true }) => ({ status: 200, body });
    const routes: RouteSpec[] = [
      { method: "GET", path: "/api/items", declaration: { permissions: ["items:read"] }, handler: ({ user }) => ok({ items: [], user }) },
      { method: "GET", path: "/status", declaration: { auth: "public" }, handler: () => ok() },
      { method: "GET", path: "/limited", declaration: { auth: "public", limits: ["2/minute"] }, handler: () => ok() },
      { method: "GET", path: "/api/me", handler: ({ user }) => ok({ user }) },
      {
        method: "GET",
        path: "/api/undeclared",
        handler: () => {
          calls.undeclared++;
          return ok({ secret: true });
        },
      },
      {
        method: "POST",
        path: "/api/notes",
        handler: ({ body }) => {
          calls.notes++;
          return { status: 201, body: { received: body } };
        },
      },
      {
        method: "GET",
        path: "/inside",
        nested: "/nested",
        handler: () => {
          calls.nested++;
          return ok({ secret: true });
        },
      },
    ];

    before(async () => {
      app = await adapter.start({ dataDir: dataDir(), roles: { reader: ["items:read"] }, cors: { origins: [ALLOWED_ORIGIN] } }, routes);
      token = await signUp(app.url, "parity@example.com");
    });
    after(() => app.close());

    it("anonymous → 401 problem+json with a Bearer challenge", async () => {
      const response = await fetch(`${app.url}/api/items`);
      assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer realm="rampart"/);
      await problem(response, 401, "unauthenticated");
    });

    it("public route → 200 with the security headers", async () => {
      const response = await fetch(`${app.url}/status`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { ok: true });
      assert.equal(response.headers.get("x-content-type-options"), "nosniff");
      assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/);
      assert.equal(response.headers.get("referrer-policy"), "no-referrer");
      assert.equal(response.headers.get("cache-control"), "no-store");
      assert.equal(response.headers.get("x-powered-by"), null);
    });

    it("logged in → 200 on an authenticated route, 403 on a missing permission", async () => {
      const me = await fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.status, 200);
      assert.ok(((await me.json()) as { user?: string }).user);
      await problem(await fetch(`${app.url}/api/items`, { headers: { authorization: `Bearer ${token}` } }), 403, "forbidden");
    });

    it("a route's own limit → 429 with Retry-After and RateLimit headers", async () => {
      for (let i = 0; i < 2; i++) assert.equal((await fetch(`${app.url}/limited`)).status, 200);
      const refused = await fetch(`${app.url}/limited`);
      assert.ok(Number(refused.headers.get("retry-after")) >= 1);
      assert.ok(refused.headers.get("ratelimit"));
      assert.match(refused.headers.get("ratelimit-policy") ?? "", /"route-1";q=2;w=60/);
      await problem(refused, 429, "rate-limited");
    });

    it("unknown route → 404; wrong method on an identity route → 405 with Allow", async () => {
      await problem(await fetch(`${app.url}/nowhere`), 404, "not-found");
      const wrong = await fetch(`${app.url}/auth/login`);
      assert.equal(wrong.headers.get("allow"), "POST");
      await problem(wrong, 405, "method-not-allowed");
    });

    it("an undeclared route, top-level or nested, refuses anonymous callers and its handler never runs", async () => {
      await problem(await fetch(`${app.url}/api/undeclared`), 401, "unauthenticated");
      await problem(await fetch(`${app.url}/nested/inside`), 401, "unauthenticated");
      assert.deepEqual([calls.undeclared, calls.nested], [0, 0]);
      assert.equal((await fetch(`${app.url}/nested/inside`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    });

    it("a misspelt declaration key, a wrong auth value or an ungrantable permission stops start-up naming it", async () => {
      const cases: [unknown, RegExp][] = [
        [{ permisions: ["items:read"] }, /unknown key "permisions"/],
        [{ auth: "anyone" }, /auth: must be "public" or "required"/],
        [{ permissions: ["items:reed"] }, /permissions: /],
      ];
      for (const [declaration, message] of cases) {
        const error = await adapter.startupError(
          { dataDir: dataDir(), roles: { reader: ["items:read"] } },
          { method: "GET", path: "/x", declaration: declaration as RouteSecurity, handler: () => ok() },
        );
        assert.ok(error, `${JSON.stringify(declaration)} should stop start-up`);
        assert.equal(error.name, "RouteDeclarationError");
        assert.match(error.message, message);
      }
    });

    it("CORS: an allowed origin is echoed, its preflight answered; null and unlisted origins get no CORS header", async () => {
      const allowed = await fetch(`${app.url}/status`, { headers: { origin: ALLOWED_ORIGIN } });
      assert.equal(allowed.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
      const preflight = await fetch(`${app.url}/api/items`, {
        method: "OPTIONS",
        headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
      assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /GET/);
      assert.match((preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase(), /authorization/);
      assert.ok(preflight.headers.get("access-control-max-age"));
      assert.match(preflight.headers.get("vary") ?? "", /Origin/);
      // An allowed origin's OPTIONS that names no method is no preflight (strictPreflight).
      const notPreflight = await fetch(`${app.url}/api/items`, { method: "OPTIONS", headers: { origin: ALLOWED_ORIGIN } });
      await notPreflight.arrayBuffer();
      assert.equal(notPreflight.status, 400);
      for (const origin of ["null", "https://evil.example.com", "https://app.example.com.evil.test"]) {
        for (const method of ["GET", "OPTIONS"]) {
          const response = await fetch(`${app.url}/status`, { method, headers: { origin, "access-control-request-method": "GET" } });
          await response.arrayBuffer();
          for (const [name] of response.headers) assert.ok(!name.startsWith("access-control-"), `${method} from ${origin}: ${name}`);
        }
      }
    });

    it("cookie session: POST without X-CSRF-Token → 403 before the handler; with it → served", async () => {
      const login = await fetch(`${app.url}/auth/login?session=cookie`, json({ email: "parity@example.com", password: PASSWORD }));
      assert.equal(login.status, 200);
      const csrf = ((await login.json()) as { csrf_token: string }).csrf_token;
      const cookie = login.headers.getSetCookie().map((line) => line.split(";")[0]).join("; ");
      const before = calls.notes;
      await problem(await fetch(`${app.url}/api/notes`, json({ text: "x" }, { cookie })), 403, "csrf");
      assert.equal(calls.notes, before);
      // The token alone is not enough: with no Origin, Referer or Sec-Fetch-Site (Node's fetch sends none) → 403.
      await problem(await fetch(`${app.url}/api/notes`, json({ text: "x" }, { cookie, "x-csrf-token": csrf })), 403, "csrf");
      assert.equal(calls.notes, before);
      const accepted = await fetch(`${app.url}/api/notes`, json({ text: "x" }, { cookie, "x-csrf-token": csrf, origin: new URL(app.url).origin }));
      assert.equal(accepted.status, 201);
      assert.deepEqual(await accepted.json(), { received: { text: "x" } });
    });

    it("a tampered access token (one signature character changed) → 401 invalid_token", async () => {
      const swapped = token.at(-2) === "A" ? "B" : "A";
      const tampered = `${token.slice(0, -2)}${swapped}${token.slice(-1)}`;
      const response = await fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${tampered}` } });
      assert.match(response.headers.get("www-authenticate") ?? "", /invalid_token/);
      await problem(response, 401, "invalid-token");
    });

    it("bodies: __proto__ → 400, not JSON → 415, and the handler never runs", async () => {
      const before = calls.notes;
      const auth = { authorization: `Bearer ${token}` };
      await problem(await fetch(`${app.url}/api/notes`, json('{"text":"x","__proto__":{"admin":true}}', auth)), 400, "malformed-json");
      await problem(await fetch(`${app.url}/api/notes`, json("{", auth)), 400, "malformed-json");
      await problem(
        await fetch(`${app.url}/api/notes`, { method: "POST", headers: { "content-type": "text/plain", ...auth }, body: "hi" }),
        415,
        "unsupported-media-type",
      );
      assert.equal(calls.notes, before);
    });
  });

  describe(`adapter parity: ${adapter.name}, identity under a prefix`, () => {
    let app: Started;
    before(async () => {
      app = await adapter.start({ dataDir: dataDir(), identity: { prefix: "/_rampart" } }, [
        { method: "GET", path: "/api/me", handler: ({ user }) => ({ status: 200, body: { user } }) },
      ]);
    });
    after(() => app.close());

    it("serves the identity routes at the prefix, not at /auth/login", async () => {
      const token = await signUp(app.url, "prefixed@example.com", "/_rampart");
      assert.equal((await fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      await problem(await fetch(`${app.url}/auth/login`, json({ email: "prefixed@example.com", password: PASSWORD })), 404, "not-found");
      assert.equal((await fetch(`${app.url}/_rampart/healthz`)).status, 200);
    });
  });
}
