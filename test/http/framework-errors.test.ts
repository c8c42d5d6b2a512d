/**
 * Errors Fastify raises before routing (FST_ERR_BAD_URL for a path that does not decode, an over-long
 * path parameter, a failing async constraint) are answered by Fastify itself unless the instance was
 * built with `frameworkErrors`: a bare JSON body naming Fastify's code, without X-Request-Id or any
 * security header. Every response must look like every other error: problem+json with its headers.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { makeApp, PRODUCTION_BEHIND_PROXY } from "../support/app.ts";
import { rawRequest } from "../support/raw-http.ts";

let handlerRuns = 0;
const routes = async (app: FastifyInstance) => {
  app.get("/api/notes/:id", { config: { rampart: { auth: "public" } } }, async () => {
    handlerRuns++;
    return { ok: true };
  });
};

// Invalid UTF-8 (%ff%fe), an overlong "." (%c0%ae: the classic dot-segment smuggle), a lone half-escape.
const BAD_TARGETS = ["/api/notes/%ff%fe", "/api/notes/%c0%ae", "/api/notes/%c0%ae%c0%ae", "/%ff", "/api/notes/%e0%80"];

function assertProblemWithHeaders(status: number, headers: Record<string, unknown>, body: string, target: string) {
  assert.equal(status, 400, `${target}: ${body}`);
  assert.match(String(headers["content-type"]), /^application\/problem\+json/, target);
  assert.equal(headers["x-content-type-options"], "nosniff", target);
  assert.match(String(headers["content-security-policy"]), /default-src 'none'/, target);
  assert.equal(headers["referrer-policy"], "no-referrer", target);
  assert.equal(headers["cache-control"], "no-store", target);
  const problem = JSON.parse(body);
  assert.equal(problem.status, 400);
  assert.ok(problem.requestId, target);
  assert.equal(problem.requestId, headers["x-request-id"], target);
  assert.doesNotMatch(body, /FST_ERR|is not a valid url component/, target);
}

describe("framework errors (before routing) are problem+json with the security headers", () => {
  let app: FastifyInstance;
  let port: number;
  before(async () => {
    ({ app } = await makeApp({ routes }));
    await app.listen({ port: 0, host: "127.0.0.1" });
    port = (app.server.address() as { port: number }).port;
  });
  after(async () => {
    await app.close();
  });

  it("an invalid percent-encoding in the path, by inject: 400 problem+json, nosniff, CSP, X-Request-Id", async () => {
    handlerRuns = 0;
    for (const url of BAD_TARGETS) {
      const res = await app.inject({ method: "GET", url });
      assertProblemWithHeaders(res.statusCode, res.headers, res.body, url);
    }
    assert.equal(handlerRuns, 0);
  });

  it("the same targets over a raw socket", async () => {
    handlerRuns = 0;
    for (const target of BAD_TARGETS) {
      const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close`);
      assertProblemWithHeaders(res.status, res.headers, res.body, target);
    }
    assert.equal(handlerRuns, 0);
  });

  it("an over-long path parameter: 400 problem+json too", async () => {
    const res = await app.inject({ method: "GET", url: `/api/notes/${"a".repeat(500)}` });
    assertProblemWithHeaders(res.statusCode, res.headers, res.body, "long param");
  });

  it("a well-formed encoding still routes", async () => {
    const res = await app.inject({ method: "GET", url: "/api/notes/%61bc" });
    assert.equal(res.statusCode, 200, res.body);
  });
});

describe("framework errors over HTTPS behind a trusted proxy", () => {
  it("carry Strict-Transport-Security like every other HTTPS response", async () => {
    const { app } = await makeApp({ routes, env: { ...PRODUCTION_BEHIND_PROXY, RAMPART_ALLOWED_HOSTS: "api.test" } });
    try {
      const res = await app.inject({
        method: "GET",
        url: "/api/notes/%ff%fe",
        remoteAddress: "10.0.0.1",
        headers: { host: "api.test", "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.5" },
      });
      assertProblemWithHeaders(res.statusCode, res.headers, res.body, "https");
      assert.match(String(res.headers["strict-transport-security"]), /max-age=\d+/);
    } finally {
      await app.close();
    }
  });
});
