import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Type as T } from "@sinclair/typebox";
import { makeApp } from "../support/app.ts";

let handlerRuns = 0;
const routes = async (app: import("fastify").FastifyInstance) => {
  app.post(
    "/notes",
    {
      config: { rampart: { auth: "public" } },
      schema: { body: T.Object({ title: T.String({ minLength: 1, maxLength: 200 }), body: T.Optional(T.String()) }, { additionalProperties: false }) },
    },
    async (request) => {
      handlerRuns++;
      return request.body;
    },
  );
  app.get(
    "/items",
    { config: { rampart: { auth: "public" } }, schema: { querystring: T.Object({ limit: T.Integer({ minimum: 1, maximum: 100 }) }, { additionalProperties: false }) } },
    async (request) => request.query,
  );
  app.get("/boom", { config: { rampart: { auth: "public" } } }, async () => {
    throw new Error("connect ECONNREFUSED /var/lib/secret.db SELECT * FROM users");
  });
  app.get("/private", async () => ({ secret: true }));
};

async function problem(res: { statusCode: number; headers: Record<string, unknown>; json(): Record<string, unknown> }, status: number) {
  assert.equal(res.statusCode, status);
  assert.match(String(res.headers["content-type"]), /^application\/problem\+json/);
  const body = res.json();
  for (const key of ["type", "title", "status", "detail", "requestId"]) assert.ok(key in body, `problem has ${key}`);
  assert.equal(body.status, status);
  assert.equal(body.requestId, res.headers["x-request-id"]);
  return body;
}

const json = { "content-type": "application/json" };

describe("errors are problem+json and leak nothing", () => {
  it("413 for a body over the limit", async () => {
    const { app } = await makeApp({ routes, overrides: { limits: { bodyBytes: 1024 } } });
    await problem(await app.inject({ method: "POST", url: "/notes", headers: json, payload: JSON.stringify({ title: "x".repeat(2000) }) }), 413);
    await app.close();
  });

  it("415 for a non-JSON body, text/plain included (the CSRF-without-preflight type)", async () => {
    const { app } = await makeApp({ routes });
    handlerRuns = 0;
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      await problem(await app.inject({ method: "POST", url: "/notes", headers: { "content-type": type }, payload: "title=x" }), 415);
    }
    assert.equal(handlerRuns, 0);
    await app.close();
  });

  it("400 for malformed JSON and for prototype-poisoning keys", async () => {
    const { app } = await makeApp({ routes });
    const bad = await problem(await app.inject({ method: "POST", url: "/notes", headers: json, payload: '{"title": "x",' }), 400);
    assert.match(String(bad.detail), /not valid JSON/);
    for (const payload of ['{"title":"x","__proto__":{"admin":true}}', '{"title":"x","constructor":{"prototype":{"admin":true}}}']) {
      const body = await problem(await app.inject({ method: "POST", url: "/notes", headers: json, payload }), 400);
      assert.match(String(body.detail), /forbidden key/);
    }
    await app.close();
  });

  it("400 naming an unknown field instead of silently dropping it", async () => {
    const { app } = await makeApp({ routes });
    handlerRuns = 0;
    const body = await problem(
      await app.inject({ method: "POST", url: "/notes", headers: json, payload: { title: "x", owner_id: "someone-else" } }),
      400,
    );
    assert.deepEqual(body.errors, [{ pointer: "/owner_id", detail: "unknown field; it is not accepted here" }]);
    assert.equal(handlerRuns, 0);
    await app.close();
  });

  it("400 for a wrong type: bodies are never coerced", async () => {
    const { app } = await makeApp({ routes });
    const body = await problem(await app.inject({ method: "POST", url: "/notes", headers: json, payload: { title: 123 } }), 400);
    assert.deepEqual(body.errors, [{ pointer: "/title", detail: "must be of type string" }]);
    await app.close();
  });

  it("points query errors at /query/…", async () => {
    const { app } = await makeApp({ routes });
    const body = await problem(await app.inject({ method: "GET", url: "/items?limit=1000" }), 400);
    assert.equal((body.errors as { pointer: string }[])[0]?.pointer, "/query/limit");
    assert.equal((await app.inject({ method: "GET", url: "/items?limit=5" })).statusCode, 200);
    await app.close();
  });

  it("500 for a thrown error, without its message, stack, path or SQL; the log has it", async () => {
    const { app, logs } = await makeApp({ routes });
    const res = await app.inject({ method: "GET", url: "/boom" });
    const body = await problem(res, 500);
    assert.doesNotMatch(res.body, /ECONNREFUSED|secret\.db|SELECT|\/var\/lib|at .*\.ts/);
    assert.equal(Object.keys(body).sort().join(), "detail,requestId,status,title,type");
    assert.ok(logs.some((line) => line.includes("ECONNREFUSED") && line.includes(String(body.requestId))));
    await app.close();
  });

  it("404 and 405 with Allow", async () => {
    const { app } = await makeApp({ routes });
    await problem(await app.inject({ method: "GET", url: "/nothing-here" }), 404);
    const res = await app.inject({ method: "DELETE", url: "/notes" });
    await problem(res, 405);
    assert.equal(res.headers.allow, "POST");
    await app.close();
  });

  it("401 with WWW-Authenticate for a route that declares nothing (deny by default)", async () => {
    const { app } = await makeApp({ routes });
    const res = await app.inject({ method: "GET", url: "/private" });
    await problem(res, 401);
    assert.match(String(res.headers["www-authenticate"]), /^Bearer/);
    assert.doesNotMatch(res.body, /secret/);
    await app.close();
  });
});

describe("logging", () => {
  it("never writes the Authorization header, cookies or a query-string token", async () => {
    const { app, logs } = await makeApp({ routes, overrides: { logging: { level: "trace" } } });
    await app.inject({
      method: "GET",
      url: "/private?access_token=query-secret-123",
      headers: { authorization: "Bearer header-secret-456", cookie: "__Host-session=cookie-secret-789" },
    });
    await app.inject({ method: "POST", url: "/notes", headers: json, payload: { title: "x", password: "body-secret-000" } });
    const text = logs.join("\n");
    assert.ok(logs.length > 0);
    for (const secret of ["query-secret-123", "header-secret-456", "cookie-secret-789", "body-secret-000"]) {
      assert.ok(!text.includes(secret), `${secret} leaked into the log`);
    }
    await app.close();
  });
});

describe("content negotiation", () => {
  it("406 problem+json when the Accept header rules JSON out; JSON, wildcards and no Accept are fine", async () => {
    const { app } = await makeApp({ routes });
    for (const accept of ["text/html", "application/xml, text/plain", "application/json;q=0, text/html"]) {
      const res = await app.inject({ method: "GET", url: "/items?limit=5", headers: { accept } });
      await problem(res, 406);
    }
    for (const accept of [undefined, "application/json", "*/*", "application/*", "text/html, */*;q=0.1", "application/problem+json"]) {
      const res = await app.inject({ method: "GET", url: "/items?limit=5", headers: accept ? { accept } : {} });
      assert.equal(res.statusCode, 200, `${accept}: ${res.body}`);
    }
    await app.close();
  });

  it("routes that produce something else say so (the docs answer HTML)", async () => {
    const { app } = await makeApp({ routes });
    const res = await app.inject({ method: "GET", url: "/docs/", headers: { accept: "text/html" } });
    assert.equal(res.statusCode, 200);
    await app.close();
  });
});
