/**
 * The `rampart` Fastify plugin on an application's own instance: options checked before anything
 * opens (each error names the option), route declarations that fail closed, deny by default, roles,
 * the identity routes at the contract's paths or under a prefix, and production refusal.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import rampart, { RampartOptionsError, type RampartOptions } from "../../src/index.ts";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "rampart-plugin-"));
  dirs.push(dir);
  return dir;
}

async function appWith(options: RampartOptions, routes: (app: FastifyInstance) => void = () => {}): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(rampart, { dataDir: dataDir(), ...options });
  routes(app);
  await app.ready();
  return app;
}

async function startupError(options: unknown, routes: (app: FastifyInstance) => void = () => {}): Promise<Error> {
  const app = Fastify();
  try {
    await app.register(rampart, options as RampartOptions);
    routes(app);
    await app.ready();
  } catch (error) {
    await app.close().catch(() => {});
    return error as Error;
  }
  await app.close();
  assert.fail("start-up should have failed");
}

const PASSWORD = "correct horse battery staple";

async function login(app: FastifyInstance, email: string, prefix = ""): Promise<string> {
  const register = await app.inject({ method: "POST", url: `${prefix}/auth/register`, payload: { email, password: PASSWORD } });
  assert.equal(register.statusCode, 201, register.body);
  const response = await app.inject({ method: "POST", url: `${prefix}/auth/login`, payload: { email, password: PASSWORD } });
  assert.equal(response.statusCode, 200, response.body);
  return response.json().access_token;
}

describe("rampart plugin: options are checked before anything opens", () => {
  const cases: [string, unknown, RegExp][] = [
    ["an unknown option", { dataDir: dataDir(), permisions: [] }, /\/permisions/],
    ["a wrong type", { dataDir: 42 }, /\/dataDir: expected string/],
    ["a policy that does not parse", { dataDir: dataDir(), rateLimit: { perIp: ["ten per minute"] } }, /\/rateLimit\/perIp\/0/],
    ["a built-in role redefined", { dataDir: dataDir(), roles: { admin: ["x:y"] } }, /\/roles\/admin: "admin" is a built-in role/],
    ["a malformed role permission", { dataDir: dataDir(), roles: { reader: ["items"] } }, /\/roles\/reader/],
    ["roles that are not an object", { dataDir: dataDir(), roles: ["reader"] }, /\/roles: must be an object/],
    ["an identity prefix with a trailing slash", { dataDir: dataDir(), identity: { prefix: "/x/" } }, /\/identity\/prefix/],
    ["verify without a JWKS URL", { verify: { issuer: "rampart", audience: "rampart-api" } }, /\/verify\/jwks/],
    ["verify with identity routes", { verify: { jwks: "http://127.0.0.1:1/jwks", issuer: "i", audience: "a" }, identity: {} }, /\/identity: verify-only/],
    ["a listen port of the wrong type", { dataDir: dataDir(), port: "http" }, /\/port: expected integer/],
  ];
  for (const [what, options, message] of cases) {
    it(`${what} stops start-up naming the option`, async () => {
      const error = await startupError(options);
      assert.ok(error instanceof RampartOptionsError, `${error.name}: ${error.message}`);
      assert.match(error.message, message);
    });
  }
});

describe("rampart plugin: settings that belong to the application's server", () => {
  it("are checked, accepted, not applied, and each is reported at registration", async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    const app = Fastify({ logger: { level: "warn", stream } });
    await app.register(rampart, { dataDir: dataDir(), port: 3000, host: "0.0.0.0", logging: { level: "debug" } } as unknown as RampartOptions);
    await app.ready();
    const warned = lines.map((line) => JSON.parse(line)).filter((entry) => entry.code === "RAMPART_WARN_OPTION_NOT_APPLIED").map((entry) => entry.option);
    assert.deepEqual(warned.sort(), ["/host", "/logging", "/port"]);
    await app.close();
  });
});

describe("rampart plugin: route declarations fail closed", () => {
  it("a misspelt key stops start-up naming the route and the key", async () => {
    const error = await startupError({ dataDir: dataDir() }, (app) => {
      // biome-ignore lint/suspicious/noExplicitAny: a JavaScript caller's typo
      app.get("/api/items", { config: { rampart: { permisions: ["items:read"] } as any } }, async () => ({}));
    });
    assert.match(error.message, /GET \/api\/items: unknown key "permisions" in config.rampart \(did you mean "permissions"\?\)/);
  });
  it("a wrong auth value stops start-up", async () => {
    const error = await startupError({ dataDir: dataDir() }, (app) => {
      // biome-ignore lint/suspicious/noExplicitAny: a JavaScript caller's mistake
      app.get("/x", { config: { rampart: { auth: "none" as any } } }, async () => ({}));
    });
    assert.match(error.message, /GET \/x: auth: must be "public" or "required"/);
  });
  it("a permission no role grants stops start-up; one an application role grants is accepted", async () => {
    const error = await startupError({ dataDir: dataDir(), roles: { reader: ["items:read"] } }, (app) => {
      app.get("/x", { config: { rampart: { permissions: ["items:write"] } } }, async () => ({}));
    });
    assert.match(error.message, /GET \/x: permissions: permission "items:write" is granted by no role/);
    const app = await appWith({ roles: { reader: ["items:read"] } }, (a) => {
      a.get("/x", { config: { rampart: { permissions: ["items:read"] } } }, async () => ({}));
    });
    await app.close();
  });
  it("a limit that does not parse stops start-up naming the route", async () => {
    const error = await startupError({ dataDir: dataDir() }, (app) => {
      app.get("/x", { config: { rampart: { auth: "public", limits: ["lots"] } } }, async () => ({}));
    });
    assert.match(error.message, /GET \/x: invalid rate limit/);
  });
  it("a route registered before the plugin never serves, even to a logged-in caller", async () => {
    let runs = 0;
    const app = Fastify();
    app.get("/early", { config: { rampart: { auth: "public" } } }, async () => {
      runs++;
      return { ok: true };
    });
    await app.register(rampart, { dataDir: dataDir() });
    await app.ready();
    const response = await app.inject("/early");
    // Fastify binds a route's error handler when the route is registered, so this 500 is Fastify's own
    // body; what matters is that the handler never ran.
    assert.equal(response.statusCode, 500);
    assert.equal(runs, 0);
    await app.close();
  });
});

describe("rampart plugin: the contract's behaviour on the application's routes", () => {
  it("deny by default, public routes, permissions from application roles, 404 problem, route limits", async () => {
    let undeclaredRuns = 0;
    const app = await appWith({ roles: { reader: ["items:read"] } }, (a) => {
      a.get("/api/items", { config: { rampart: { permissions: ["items:read"] } } }, async (request) => ({ user: request.rampart.principal?.userId }));
      a.get("/api/me", async (request) => {
        undeclaredRuns++;
        return { user: request.rampart.principal?.userId };
      });
      a.get("/status", { config: { rampart: { auth: "public", limits: ["2/minute"] } } }, async () => ({ ok: true }));
    });
    const anonymous = await app.inject("/api/me");
    assert.equal(anonymous.statusCode, 401);
    assert.match(String(anonymous.headers["www-authenticate"]), /^Bearer/);
    assert.equal(undeclaredRuns, 0);

    const status = await app.inject("/status");
    assert.equal(status.statusCode, 200);
    assert.equal(status.headers["x-content-type-options"], "nosniff");
    assert.equal(status.headers["referrer-policy"], "no-referrer");
    assert.match(String(status.headers["content-security-policy"]), /default-src 'none'/);
    assert.match(String(status.headers["ratelimit-policy"]), /"route-1";q=2;w=60/);
    await app.inject("/status");
    const limited = await app.inject("/status");
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers["retry-after"]) > 0);

    const token = await login(app, "reader@example.com");
    const bearer = { authorization: `Bearer ${token}` };
    assert.equal((await app.inject({ url: "/api/me", headers: bearer })).statusCode, 200);
    const forbidden = await app.inject({ url: "/api/items", headers: bearer });
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.json().status, 403);

    const notFound = await app.inject("/nope");
    assert.equal(notFound.statusCode, 404);
    assert.equal(notFound.headers["content-type"], "application/problem+json; charset=utf-8");
    await app.close();
  });

  it("an unknown body field is 400 naming it, and __proto__ is refused", async () => {
    const app = await appWith({}, (a) => {
      a.post(
        "/api/echo",
        {
          config: { rampart: { auth: "public" } },
          schema: { body: { type: "object", additionalProperties: false, properties: { title: { type: "string" } } } },
        },
        async (request) => request.body,
      );
    });
    const unknown = await app.inject({ method: "POST", url: "/api/echo", payload: { title: "a", owner_id: "x" } });
    assert.equal(unknown.statusCode, 400);
    assert.equal(unknown.json().errors[0].pointer, "/owner_id");
    const poisoned = await app.inject({
      method: "POST",
      url: "/api/echo",
      headers: { "content-type": "application/json" },
      payload: '{"title":"a","__proto__":{"admin":true}}',
    });
    assert.equal(poisoned.statusCode, 400);
    const text = await app.inject({ method: "POST", url: "/api/echo", headers: { "content-type": "text/plain" }, payload: "{}" });
    assert.equal(text.statusCode, 415);
    await app.close();
  });

  it("identity under a prefix: served there, and the contract's paths are free for the application", async () => {
    const app = await appWith({ identity: { prefix: "/_rampart" } }, (a) => {
      a.get("/auth/login", { config: { rampart: { auth: "public" } } }, async () => ({ mine: true }));
    });
    const token = await login(app, "p@example.com", "/_rampart");
    assert.equal((await app.inject({ url: "/_rampart/auth/me", headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
    assert.deepEqual((await app.inject("/auth/login")).json(), { mine: true });
    assert.equal((await app.inject("/_rampart/.well-known/jwks.json")).statusCode, 200);
    assert.equal((await app.inject("/_rampart/healthz")).statusCode, 200);
    await app.close();
  });

  it("identity: false mounts no identity or operations routes", async () => {
    const app = await appWith({ identity: false });
    assert.equal((await app.inject({ method: "POST", url: "/auth/login", payload: {} })).statusCode, 404);
    assert.equal((await app.inject("/healthz")).statusCode, 404);
    await app.close();
  });

  it("production mode refuses unsafe settings, naming each finding", async () => {
    const error = await startupError({ dataDir: dataDir(), env: "production" });
    assert.match(error.message, /refusing to start in production mode/);
    assert.match(error.message, /RAMPART_CHECK_NO_HTTPS/);
    const open = await startupError({ dataDir: dataDir(), env: "production", trustedProxies: ["10.0.0.1"], cors: { origins: ["*"], credentials: true } });
    assert.match(open.message, /cors\/origins\/0: wildcard origin/);
  });
});
