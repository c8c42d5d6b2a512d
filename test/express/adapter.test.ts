/**
 * `rampart/express` over real HTTP: the same pipeline as the Fastify plugin on an Express 5 app. Deny
 * by default (undeclared routes, routes on a sub-router, a middleware that answers by itself), route
 * declarations that fail closed at start-up, problem+json for every refusal, the identity routes served
 * from the pipeline, CORS, cookie sessions with CSRF, limits, and the body read only after the guard.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import express, { type Express } from "express";
import pino from "pino";
import { createRampart, type ExpressRampart, type ExpressRampartOptions, RouteDeclarationError } from "../../src/express/index.ts";

const PASSWORD = "correct horse battery staple";
const ALLOWED_ORIGIN = "https://app.example.com";
const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];

after(async () => {
  for (const close of closers.reverse()) await close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "rampart-express-"));
  dirs.push(dir);
  return dir;
}

interface Running {
  url: string;
  rampart: ExpressRampart;
}

async function start(options: Partial<ExpressRampartOptions>, routes: (app: Express, rampart: ExpressRampart) => void): Promise<Running> {
  const rampart = await createRampart({ dataDir: dataDir(), logger: pino({ level: "silent" }), ...options });
  const app = express();
  app.use(rampart.pipeline);
  app.use(rampart.json());
  routes(app, rampart);
  app.use(rampart.errors);
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rampart.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, rampart };
}

async function problem(response: Response, status: number): Promise<Record<string, unknown>> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(response.headers.get("content-type") ?? "", /^application\/problem\+json/);
  const body = JSON.parse(text);
  assert.equal(body.status, status);
  assert.equal(body.requestId, response.headers.get("x-request-id"));
  return body;
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

async function signUp(url: string, email: string, prefix = ""): Promise<string> {
  const register = await fetch(`${url}${prefix}/auth/register`, json({ email, password: PASSWORD }));
  assert.equal(register.status, 201, await register.clone().text());
  const login = await fetch(`${url}${prefix}/auth/login`, json({ email, password: PASSWORD }));
  assert.equal(login.status, 200, await login.clone().text());
  return ((await login.json()) as { access_token: string }).access_token;
}

describe("rampart/express", () => {
  let t: Running;
  const calls = { me: 0, undeclared: 0, nested: 0, notes: 0, raw: 0 };
  let token: string;

  before(async () => {
    t = await start({ roles: { reader: ["items:read"] }, cors: { origins: [ALLOWED_ORIGIN] } }, (app, rampart) => {
      app.get("/api/items", rampart.route({ permissions: ["items:read"] }), (req, res) => {
        res.json({ items: [], user: req.rampart.principal?.userId });
      });
      app.get("/status", rampart.route({ auth: "public" }), (_req, res) => {
        res.json({ ok: true });
      });
      app.get("/limited", rampart.route({ auth: "public", limits: ["2/minute"] }), (_req, res) => {
        res.json({ ok: true });
      });
      app.get("/api/me", (req, res) => {
        calls.me++;
        res.json({ user: req.rampart.principal?.userId });
      });
      app.get("/api/undeclared", (_req, res) => {
        calls.undeclared++;
        res.json({ secret: true });
      });
      app.post("/api/notes", (req, res) => {
        calls.notes++;
        res.status(201).json({ received: req.body });
      });
      const router = express.Router();
      router.get("/inside", (_req, res) => {
        calls.nested++;
        res.json({ secret: true });
      });
      app.use("/nested", router);
      app.get("/api/broken", rampart.route({ auth: "public" }), () => {
        throw new Error("connection to db.internal:5432 refused, password=hunter2");
      });
      // A router-level declaration: every route under it needs items:read; a public one upstream
      // never makes an undeclared route public.
      const readers = express.Router();
      readers.use(rampart.route({ permissions: ["items:read"] }));
      readers.get("/list", (_req, res) => {
        res.json({ items: [] });
      });
      app.use("/readers", readers);
      const open = express.Router();
      open.use(rampart.route({ auth: "public" }));
      open.get("/undeclared", (_req, res) => {
        calls.undeclared++;
        res.json({ secret: true });
      });
      app.use("/open", open);
      // A middleware that answers by itself: no route, so the walk cannot see it.
      app.use("/raw", (_req, res) => {
        calls.raw++;
        res.cookie("leak", "1").send("secret payload");
      });
    });
    token = await signUp(t.url, "reader@example.com");
  });

  it("refuses an anonymous caller with 401 problem+json and a Bearer challenge", async () => {
    const response = await fetch(`${t.url}/api/items`);
    const body = await problem(response, 401);
    assert.equal(body.type, "https://rampart.dev/problems/unauthenticated");
    assert.match(response.headers.get("www-authenticate") ?? "", /^Bearer realm="rampart"/);
  });

  it("serves a public route with the security headers and without X-Powered-By", async () => {
    const response = await fetch(`${t.url}/status`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ok: true });
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.equal(response.headers.get("referrer-policy"), "no-referrer");
    assert.equal(response.headers.get("cache-control"), "no-store");
    assert.equal(response.headers.get("x-powered-by"), null);
    assert.ok(response.headers.get("x-request-id"));
  });

  it("admits a logged-in user to an authenticated route and refuses a missing permission with 403", async () => {
    const me = await fetch(`${t.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 200);
    assert.ok(((await me.json()) as { user?: string }).user);
    const items = await fetch(`${t.url}/api/items`, { headers: { authorization: `Bearer ${token}` } });
    const body = await problem(items, 403);
    assert.equal(body.type, "https://rampart.dev/problems/forbidden");
  });

  it("enforces a route's own limit with 429, Retry-After and RateLimit headers", async () => {
    for (let i = 0; i < 2; i++) {
      const ok = await fetch(`${t.url}/limited`);
      assert.equal(ok.status, 200);
      assert.ok(ok.headers.get("ratelimit-policy"));
    }
    const refused = await fetch(`${t.url}/limited`);
    await problem(refused, 429);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);
    assert.ok(refused.headers.get("ratelimit"));
    assert.ok(refused.headers.get("ratelimit-policy"));
  });

  it("answers an unknown route with 404 problem+json", async () => {
    const body = await problem(await fetch(`${t.url}/nowhere`), 404);
    assert.equal(body.type, "https://rampart.dev/problems/not-found");
  });

  it("answers a wrong method on an identity route with 405 and Allow", async () => {
    const response = await fetch(`${t.url}/auth/login`);
    await problem(response, 405);
    assert.equal(response.headers.get("allow"), "POST");
  });

  it("an undeclared route refuses anonymous callers, and its handler never runs", async () => {
    const before = calls.undeclared;
    await problem(await fetch(`${t.url}/api/undeclared`), 401);
    assert.equal(calls.undeclared, before);
    const admitted = await fetch(`${t.url}/api/undeclared`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(admitted.status, 200);
    assert.equal(calls.undeclared, before + 1);
  });

  it("an undeclared route on a sub-router refuses anonymous callers too", async () => {
    await problem(await fetch(`${t.url}/nested/inside`), 401);
    assert.equal(calls.nested, 0);
  });

  it("a middleware that answers without any guard never serves its response (second line)", async () => {
    const response = await fetch(`${t.url}/raw`);
    const text = await response.clone().text();
    await problem(response, 500);
    assert.doesNotMatch(text, /secret payload/);
    assert.equal(response.headers.get("set-cookie"), null);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  });

  it("a handler's error is a 500 problem that says nothing of it", async () => {
    const response = await fetch(`${t.url}/api/broken`);
    const text = await response.clone().text();
    const body = await problem(response, 500);
    assert.equal(body.type, "https://rampart.dev/problems/internal");
    assert.doesNotMatch(text, /hunter2|db\.internal/);
  });

  it("router-level declarations: a permission guard applies to every route under it; a public one never makes an undeclared route public", async () => {
    await problem(await fetch(`${t.url}/readers/list`), 401);
    await problem(await fetch(`${t.url}/readers/list`, { headers: { authorization: `Bearer ${token}` } }), 403);
    const before = calls.undeclared;
    await problem(await fetch(`${t.url}/open/undeclared`), 401);
    assert.equal(calls.undeclared, before);
  });

  it("a misspelt declaration key stops start-up naming the key", () => {
    assert.throws(
      () => t.rampart.route({ permisions: ["items:read"] } as never),
      (error: Error) => error instanceof RouteDeclarationError && /unknown key "permisions"/.test(error.message) && /adapter\.test\.ts/.test(error.message),
    );
    assert.throws(() => t.rampart.route({ auth: "anyone" } as never), /auth: must be "public" or "required"/);
    assert.throws(() => t.rampart.route({ permissions: ["items:reed"] }), RouteDeclarationError);
  });

  it("CORS: an allowed origin is echoed; null and unlisted origins get no CORS header, even on preflight", async () => {
    const allowed = await fetch(`${t.url}/status`, { headers: { origin: ALLOWED_ORIGIN } });
    assert.equal(allowed.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    const preflight = await fetch(`${t.url}/api/items`, {
      method: "OPTIONS",
      headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), ALLOWED_ORIGIN);
    assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /GET/);
    assert.match((preflight.headers.get("access-control-allow-headers") ?? "").toLowerCase(), /authorization/);
    assert.ok(preflight.headers.get("access-control-max-age"));
    assert.match(preflight.headers.get("vary") ?? "", /Origin/);
    for (const origin of ["null", "https://evil.example.com", "https://app.example.com.evil.test"]) {
      for (const method of ["GET", "OPTIONS"]) {
        const response = await fetch(`${t.url}/status`, { method, headers: { origin, "access-control-request-method": "GET" } });
        await response.arrayBuffer();
        for (const [name] of response.headers) assert.ok(!name.startsWith("access-control-"), `${method} from ${origin}: ${name}`);
      }
    }
  });

  it("cookie session: a state-changing request without X-CSRF-Token is 403 before the handler runs", async () => {
    const login = await fetch(`${t.url}/auth/login?session=cookie`, json({ email: "reader@example.com", password: PASSWORD }));
    assert.equal(login.status, 200);
    const csrf = ((await login.json()) as { csrf_token: string }).csrf_token;
    const cookies = login.headers.getSetCookie().map((line) => line.split(";")[0]).join("; ");
    assert.match(cookies, /rampart_session=/);
    const before = calls.notes;
    const refused = await fetch(`${t.url}/api/notes`, json({ text: "x" }, { cookie: cookies }));
    const body = await problem(refused, 403);
    assert.equal(body.type, "https://rampart.dev/problems/csrf");
    assert.equal(calls.notes, before);
    // Without Origin, Referer or Sec-Fetch-Site (what Node's fetch sends) it is refused even with the token.
    assert.equal((await fetch(`${t.url}/api/notes`, json({ text: "x" }, { cookie: cookies, "x-csrf-token": csrf }))).status, 403);
    assert.equal(calls.notes, before);
    const accepted = await fetch(`${t.url}/api/notes`, json({ text: "x" }, { cookie: cookies, "x-csrf-token": csrf, origin: new URL(t.url).origin }));
    assert.equal(accepted.status, 201);
    assert.deepEqual(await accepted.json(), { received: { text: "x" } });
  });

  it("a tampered access token (one signature character changed) is 401", async () => {
    const last = token.at(-2) === "A" ? "B" : "A";
    const tampered = `${token.slice(0, -2)}${last}${token.slice(-1)}`;
    const response = await fetch(`${t.url}/api/me`, { headers: { authorization: `Bearer ${tampered}` } });
    const body = await problem(response, 401);
    assert.equal(body.type, "https://rampart.dev/problems/invalid-token");
    assert.match(response.headers.get("www-authenticate") ?? "", /invalid_token/);
  });

  it("a JSON body with __proto__ is 400, and the handler never runs", async () => {
    const before = calls.notes;
    const response = await fetch(`${t.url}/api/notes`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: '{"text":"x","__proto__":{"admin":true}}',
    });
    const body = await problem(response, 400);
    assert.equal(body.type, "https://rampart.dev/problems/malformed-json");
    assert.equal(calls.notes, before);
  });

  it("a body that is not JSON is 415; an anonymous caller's body is never read (401, not 413)", async () => {
    const text = await fetch(`${t.url}/api/notes`, {
      method: "POST",
      headers: { "content-type": "text/plain", authorization: `Bearer ${token}` },
      body: "hello",
    });
    await problem(text, 415);
    const huge = await fetch(`${t.url}/api/notes`, json({ text: "x".repeat(2_000_000) }));
    await problem(huge, 401);
  });
});

describe("rampart/express: identity under a prefix", () => {
  it("serves the identity routes at the prefix and not at the contract's paths", async () => {
    const t = await start({ identity: { prefix: "/_rampart" } }, (app) => {
      app.get("/api/me", (req, res) => {
        res.json({ user: req.rampart.principal?.userId });
      });
    });
    const token = await signUp(t.url, "prefixed@example.com", "/_rampart");
    const me = await fetch(`${t.url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.status, 200);
    await problem(await fetch(`${t.url}/auth/login`, json({ email: "prefixed@example.com", password: PASSWORD })), 404);
    assert.equal((await fetch(`${t.url}/_rampart/healthz`)).status, 200);
  });
});

describe("rampart/express: mounting mistakes fail closed", () => {
  it("a body parser mounted before the pipeline makes the identity routes refuse with 500", async () => {
    const rampart = await createRampart({ dataDir: dataDir(), logger: pino({ level: "silent" }) });
    const app = express();
    app.use(express.json());
    app.use(rampart.pipeline);
    app.use(rampart.errors);
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rampart.close();
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await problem(await fetch(`${url}/auth/register`, json({ email: "early@example.com", password: PASSWORD })), 500);
  });

  it("a route registered before the pipeline never serves", async () => {
    const rampart = await createRampart({ dataDir: dataDir(), logger: pino({ level: "silent" }) });
    const app = express();
    let ran = 0;
    app.get("/early", rampart.route({ auth: "public" }), (_req, res) => {
      ran++;
      res.json({ ok: true });
    });
    app.use(rampart.pipeline);
    app.use(rampart.errors);
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await rampart.close();
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await problem(await fetch(`${url}/early`), 500);
    assert.equal(ran, 0);
  });

  it("after close(), new requests get 503 and the identity routes are gone", async () => {
    const t = await start({}, (app) => {
      app.get("/status", (_req, res) => {
        res.json({ ok: true });
      });
    });
    await t.rampart.close();
    await t.rampart.close(); // idempotent
    const response = await fetch(`${t.url}/auth/login`, json({ email: "x@example.com", password: PASSWORD }));
    const body = await problem(response, 503);
    assert.equal(body.type, "https://rampart.dev/problems/shutting-down");
  });

  it("unknown adapter options are refused by name", async () => {
    await assert.rejects(createRampart({ dataDir: dataDir(), logger: "verbose" } as never), /\/logger: must be a pino logger/);
    await assert.rejects(createRampart({ dataDir: dataDir(), loger: {} } as never), /\/loger/);
  });
});
