/**
 * Rate-limit fields over HTTP (memory store): `RateLimit-Policy` and `RateLimit` are RFC 8941 Lists on
 * every limited response; the request over the limit is a 429 with `Retry-After` and a problem+json body
 * naming the violated policy, decided in the onRequest pipeline (before the body is parsed and the handler
 * runs).
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance, LightMyRequestResponse, RouteOptions } from "fastify";
import pino from "pino";
import { loadConfig } from "../../../src/config/load.ts";
import { MemoryRateLimitStore } from "../../../src/core/ratelimit/index.ts";
import { type Item, parseSfList } from "../../support/structured-fields.ts";
import { buildApp } from "../../../src/http/app.ts";
import { createRateLimitStages } from "../../../src/http/stages/rate-limit.ts";
import { composeServer, type RampartServer } from "../../../src/server/compose.ts";

/** One header value as a string (a repeated field would be an array: these must appear once). */
function field(res: LightMyRequestResponse, name: string): string {
  const value = res.headers[name];
  assert.equal(typeof value, "string", `${name} is present once: ${JSON.stringify(value)}`);
  return value as string;
}

/** `RateLimit`: exactly one item, a String naming a policy, with non-negative Integer `r` and `t`. */
function rateLimitOf(res: LightMyRequestResponse): { name: string; r: number; t: number } {
  const items = parseSfList(field(res, "ratelimit"));
  assert.equal(items.length, 1, `one RateLimit item: ${JSON.stringify(items)}`);
  const [item] = items as [Item];
  assert.equal(typeof item.value, "string", "the item is an sf-string");
  const { r, t } = item.params;
  assert.ok(Number.isInteger(r) && (r as number) >= 0, `r is a non-negative Integer: ${r}`);
  assert.ok(Number.isInteger(t) && (t as number) >= 0, `t is a non-negative Integer: ${t}`);
  return { name: item.value as string, r: r as number, t: t as number };
}

function problem(res: LightMyRequestResponse, status: number): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers["content-type"]), /^application\/problem\+json/);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.status, status);
  for (const member of ["type", "title", "detail", "requestId"]) assert.equal(typeof body[member], "string", member);
  assert.equal(body.requestId, res.headers["x-request-id"]);
  return body;
}

function assertRateLimited(res: LightMyRequestResponse, policy: string): Record<string, unknown> {
  const body = problem(res, 429);
  const retryAfter = field(res, "retry-after");
  assert.match(retryAfter, /^[1-9]\d*$/, "Retry-After is delay-seconds, at least 1");
  assert.equal(body.policy, policy, `the body names the violated policy: ${res.body}`);
  assert.ok((body["violated-policies"] as string[]).includes(policy), res.body);
  assert.doesNotMatch(res.body, /198\.18\.|ip:/, "the bucket key stays in the log");
  const limit = rateLimitOf(res);
  assert.equal(limit.name, policy, "RateLimit reports the violated policy");
  assert.equal(limit.r, 0);
  assert.ok(limit.t <= Number(retryAfter), "t never exceeds Retry-After (draft §6)");
  return body;
}

let run = Math.floor(Math.random() * 200);
/** A fresh client address per test. */
const nextIp = () => `198.18.${++run % 256}.${Math.floor(Math.random() * 254) + 1}`;
const dataDir = () => mkdtempSync(join(tmpdir(), "rampart-rl-http-"));

describe("rate-limit fields on the reference server (GET /healthz, memory store)", () => {
  let server: RampartServer;
  before(async () => {
    const config = loadConfig({
      env: { RAMPART_DATA_DIR: dataDir() },
      overrides: { rateLimit: { perIp: ["5/minute burst 5"] } },
    });
    server = await composeServer(config, pino({ level: "silent" }));
    await server.app.ready();
  });
  after(() => server?.close());

  const get = (ip: string) => server.app.inject({ method: "GET", url: "/healthz", remoteAddress: ip });

  it("carries RateLimit-Policy and RateLimit as RFC 8941 Lists, r counting down", async () => {
    const ip = nextIp();
    for (let i = 0; i < 5; i++) {
      const res = await get(ip);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(parseSfList(field(res, "ratelimit-policy")), [{ value: "ip", params: { q: 5, w: 60 } }]);
      const limit = rateLimitOf(res);
      assert.equal(limit.name, "ip");
      assert.equal(limit.r, 4 - i, `remaining after request ${i + 1}`);
      assert.ok(limit.t <= 60, `t within the window: ${limit.t}`);
      assert.equal(res.headers["retry-after"], undefined, "no Retry-After on a success");
    }
  });

  it("answers the 6th request of a burst of 5 with 429, Retry-After and a problem naming the policy", async () => {
    const ip = nextIp();
    for (let i = 0; i < 5; i++) assert.equal((await get(ip)).statusCode, 200);
    const res = await get(ip);
    assertRateLimited(res, "ip");
    assert.deepEqual(parseSfList(field(res, "ratelimit-policy")), [{ value: "ip", params: { q: 5, w: 60 } }]);
    // GCRA at 5/minute: one unit refills every 12 s.
    assert.ok(Number(res.headers["retry-after"]) <= 12, String(res.headers["retry-after"]));
    // Still refused: a denied request consumes nothing, but the bucket has not refilled either.
    assertRateLimited(await get(ip), "ip");
    // Another client is not affected.
    assert.equal((await get(nextIp())).statusCode, 200);
  });

  it("counts requests that match no route (404s) against the per-IP limit", async () => {
    const ip = nextIp();
    for (let i = 0; i < 5; i++) {
      const res = await server.app.inject({ method: "GET", url: `/no-such-path-${i}`, remoteAddress: ip });
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(rateLimitOf(res).r, 4 - i);
    }
    assertRateLimited(await get(ip), "ip");
  });
});

describe("rate limiting runs before the body is parsed and before the handler (buildApp + memory stages)", () => {
  let app: FastifyInstance;
  let store: MemoryRateLimitStore;
  let handlerRuns = 0;

  before(async () => {
    const config = loadConfig({ env: {}, overrides: { rateLimit: { perIp: ["5/minute burst 5", "100/hour"] }, logging: { level: "silent" } } });
    store = new MemoryRateLimitStore();
    const limits = createRateLimitStages(config, store);
    app = await buildApp({
      config,
      logger: pino({ level: "silent" }),
      openApi: false,
      onRoute: limits.onRoute,
      stages: { "limit-client": limits.limitClient, "limit-principal": limits.limitPrincipal },
      routes: (scope) => {
        scope.post("/echo", { config: { rampart: { auth: "public" } } }, async (request) => {
          handlerRuns++;
          return request.body ?? {};
        });
      },
    });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await store?.close();
  });

  const post = (ip: string, payload: string) =>
    app.inject({ method: "POST", url: "/echo", remoteAddress: ip, headers: { "content-type": "application/json" }, payload });

  it("stacks both per-IP policies in RateLimit-Policy", async () => {
    const res = await post(nextIp(), "{}");
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(parseSfList(field(res, "ratelimit-policy")), [
      { value: "ip", params: { q: 5, w: 60 } },
      { value: "ip-2", params: { q: 100, w: 3600 } },
    ]);
    assert.equal(rateLimitOf(res).name, "ip", "the policy closest to exhaustion");
  });

  it("refuses the 6th request with 429 without running the handler or parsing its body", async () => {
    const ip = nextIp();
    handlerRuns = 0;
    for (let i = 0; i < 5; i++) assert.equal((await post(ip, `{"n":${i}}`)).statusCode, 200);
    assert.equal(handlerRuns, 5);
    // Malformed JSON would be a 400 if the body were read: the limiter answers first.
    assertRateLimited(await post(ip, '{"n":'), "ip");
    // An over-long body would be a 413.
    assertRateLimited(await post(ip, JSON.stringify({ big: "x".repeat(2 * 1024 * 1024) })), "ip");
    assert.equal(handlerRuns, 5, "the handler did not run for refused requests");
  });
});

describe("configurations with an empty policy list", () => {
  const logger = pino({ level: "silent" });

  /**
   * An app with these limits and routes. Registration is first tried on the stages alone: when it throws,
   * buildApp would throw from inside Fastify's boot with an instance the test cannot close (and that keeps
   * the process alive for avvio's 10 s plugin timeout).
   */
  async function appWith(rateLimit: Record<string, unknown>, routes?: (app: FastifyInstance) => void) {
    const config = loadConfig({ env: {}, overrides: { rateLimit, logging: { level: "silent" } } });
    const limits = createRateLimitStages(config, new MemoryRateLimitStore());
    for (const route of [
      { method: "GET", url: "/public", config: { rampart: { auth: "public" } } },
      { method: "GET", url: "/private", config: { rampart: {} } },
      { method: "GET", url: "/unlimited", config: { rampart: { auth: "public", limits: false } } },
    ]) {
      assert.doesNotThrow(() => limits.onRoute(route as unknown as RouteOptions), `${route.method} ${route.url} registers`);
    }
    const app = await buildApp({
      config,
      logger,
      openApi: false,
      onRoute: limits.onRoute,
      stages: { "limit-client": limits.limitClient, "limit-principal": limits.limitPrincipal },
      ...(routes ? { routes } : {}),
    });
    await app.ready();
    return app;
  }

  it(
    "a route that opts out (limits: false) starts, carries no rate-limit fields and is never refused",
    async () => {
      const app = await appWith({ perIp: ["1/minute"] }, (scope) => {
        scope.get("/unlimited", { config: { rampart: { auth: "public", limits: false } } }, async () => ({ ok: true }));
      });
      try {
        const ip = nextIp();
        for (let i = 0; i < 3; i++) {
          const res = await app.inject({ method: "GET", url: "/unlimited", remoteAddress: ip });
          assert.equal(res.statusCode, 200, res.body);
          assert.equal(res.headers.ratelimit, undefined);
          assert.equal(res.headers["ratelimit-policy"], undefined);
        }
      } finally {
        await app.close();
      }
    },
  );

  it(
    "perPrincipal: [] (per-IP limits only) starts, and authenticated routes are limited per IP",
    async () => {
      const app = await appWith({ perIp: ["2/minute"], perPrincipal: [] }, (scope) => {
        scope.get("/private", async () => ({ ok: true }));
      });
      try {
        const ip = nextIp();
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) statuses.push((await app.inject({ method: "GET", url: "/private", remoteAddress: ip })).statusCode);
        assert.deepEqual(statuses, [401, 401, 429], "unauthenticated callers are still limited per IP");
      } finally {
        await app.close();
      }
    },
  );

  it(
    "perIp: [] (no per-IP limits) starts, and public routes are unlimited",
    async () => {
    const app = await appWith({ perIp: [] });
    try {
      const ip = nextIp();
      for (let i = 0; i < 3; i++) {
        const res = await app.inject({ method: "GET", url: "/healthz", remoteAddress: ip });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers.ratelimit, undefined);
      }
    } finally {
      await app.close();
    }
    },
  );
});
