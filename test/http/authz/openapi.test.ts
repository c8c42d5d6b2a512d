/**
 * The OpenAPI 3.1 description: public, complete, and carrying every route's security requirements as
 * declared. No OpenAPI validator is installed (node_modules has only `openapi-types`), so the document
 * is checked structurally here against the parts of the 3.1 specification that tooling relies on.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { addresses, type AuthzServer, caller, createUser, startServer, type TestUser } from "../../support/authz.ts";

interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  schema?: unknown;
}
interface Operation {
  security?: Record<string, string[]>[];
  responses?: Record<string, { description?: unknown; content?: unknown }>;
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, unknown> };
  operationId?: string;
}
interface Document {
  openapi: string;
  info: { title?: unknown; version?: unknown };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string }>; schemas?: Record<string, unknown> };
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const PUBLIC = new Set(["GET /healthz", "GET /readyz", "POST /auth/register", "POST /auth/login", "POST /auth/refresh", "GET /.well-known/jwks.json"]);
// The second step of a password login: public like the login (the mfa_token is its credential).
PUBLIC.add("POST /auth/mfa/verify");
// Passkey login: public like the password login it mirrors.
for (const route of ["POST /auth/webauthn/login/options", "POST /auth/webauthn/login/verify"]) PUBLIC.add(route);
// Public to the pipeline: the OAuth endpoints authenticate the client themselves (Basic or post).
for (const route of ["POST /oauth/token", "POST /oauth/introspect", "POST /oauth/revoke", "GET /.well-known/oauth-authorization-server"]) PUBLIC.add(route);

const ip = addresses(105);
let server: AuthzServer;
let doc: Document;

function operations(): [string, string, Operation][] {
  const out: [string, string, Operation][] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (METHODS.includes(method)) out.push([method.toUpperCase(), path, operation]);
    }
  }
  return out;
}

/** Resolves a local `$ref` ("#/components/…") or fails. */
function resolveRef(ref: string): unknown {
  assert.match(ref, /^#\//, `only local refs: ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    assert.ok(node && typeof node === "object" && key in node, `$ref ${ref} resolves`);
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function visitRefs(node: unknown): void {
  if (Array.isArray(node)) node.forEach(visitRefs);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") resolveRef(value);
      else visitRefs(value);
    }
  }
}

before(async () => {
  server = await startServer();
  const response = await server.app.inject({ method: "GET", url: "/openapi.json", remoteAddress: ip() });
  assert.equal(response.statusCode, 200, response.body);
  doc = response.json() as Document;
});

after(async () => {
  await server.close();
});

describe("GET /openapi.json", () => {
  it("validates against the official OpenAPI 3.1 JSON Schema", async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Parameters<Validator["validate"]>[0]);
    assert.equal(validator.version, "3.1");
    assert.equal(result.valid, true, JSON.stringify(result.errors));
  });

  it("is public, JSON, OpenAPI 3.1 with info", async () => {
    const response = await server.app.inject({ method: "GET", url: "/openapi.json", remoteAddress: ip() });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /^application\/json/);
    assert.match(doc.openapi, /^3\.1\./);
    assert.equal(typeof doc.info.title, "string");
    assert.equal(typeof doc.info.version, "string");
  });

  it("declares the security schemes bearerAuth, apiToken and cookieSession", () => {
    const schemes = doc.components.securitySchemes;
    assert.deepEqual(Object.keys(schemes).sort(), ["apiToken", "bearerAuth", "cookieSession"]);
    assert.equal(schemes.bearerAuth?.type, "http");
    assert.equal(schemes.apiToken?.type, "http");
    assert.equal(schemes.cookieSession?.type, "apiKey");
  });

  it("lists every contract route", () => {
    const listed = new Set(operations().map(([method, path]) => `${method} ${path}`));
    for (const route of [
      ...PUBLIC,
      "POST /auth/logout",
      "GET /auth/me",
      "POST /auth/password",
      "POST /auth/tokens",
      "GET /auth/tokens",
      "DELETE /auth/tokens/{id}",
      "GET /admin/users",
      "PATCH /admin/users/{id}",
      "GET /admin/roles",
      "PUT /admin/roles/{name}",
      "GET /admin/audit",
      "GET /api/notes",
      "POST /api/notes",
      "GET /api/notes/{id}",
      "PATCH /api/notes/{id}",
      "DELETE /api/notes/{id}",
    ]) {
      assert.ok(listed.has(route), `${route} is documented`);
    }
  });

  it("public operations have security: [], every other one a non-empty security array", () => {
    for (const [method, path, operation] of operations()) {
      const name = `${method} ${path}`;
      assert.ok(Array.isArray(operation.security), `${name} states its security`);
      if (PUBLIC.has(name)) assert.deepEqual(operation.security, [], `${name} is public`);
      else assert.ok((operation.security ?? []).length > 0, `${name} requires credentials`);
    }
  });

  it("security requirements name declared schemes and carry the route's permissions, as the route table says", () => {
    const table = server.app.rampartRoutes();
    const schemes = Object.keys(doc.components.securitySchemes);
    for (const [method, path, operation] of operations()) {
      const url = path.replace(/\{([^}]+)\}/g, ":$1");
      const row = table.find((r) => r.method === method && r.url === url);
      assert.ok(row, `${method} ${path} is in the route table`);
      for (const requirement of operation.security ?? []) {
        for (const [scheme, permissions] of Object.entries(requirement)) {
          assert.ok(schemes.includes(scheme), `${method} ${path}: ${scheme} is declared`);
          assert.deepEqual(permissions, [...row.permissions], `${method} ${path}: permissions`);
        }
      }
    }
    const notes = doc.paths["/api/notes"]?.get?.security;
    assert.ok(notes?.some((r) => r.bearerAuth?.includes("notes:read")), "GET /api/notes needs notes:read");
    const users = doc.paths["/admin/users"]?.get?.security;
    assert.ok(users?.every((r) => Object.values(r).every((p) => p.includes("users:admin"))));
  });

  it("is structurally valid: responses with descriptions, path parameters declared, refs resolve", () => {
    const operationIds = new Set<string>();
    assert.ok(Object.keys(doc.paths).length > 0);
    for (const path of Object.keys(doc.paths)) assert.match(path, /^\//, `path ${path} starts with /`);
    for (const [method, path, operation] of operations()) {
      const name = `${method} ${path}`;
      const responses = operation.responses;
      assert.ok(responses && Object.keys(responses).length > 0, `${name} has responses`);
      for (const [status, response] of Object.entries(responses ?? {})) {
        assert.match(status, /^(default|[1-5](\d\d|XX))$/, `${name}: response key ${status}`);
        assert.equal(typeof response.description, "string", `${name} ${status}: description is required`);
      }
      const parameters = operation.parameters ?? [];
      for (const parameter of parameters) {
        assert.ok(["query", "header", "path", "cookie"].includes(parameter.in), `${name}: parameter location ${parameter.in}`);
        assert.equal(typeof parameter.name, "string");
        assert.ok(parameter.schema !== undefined, `${name}: ${parameter.name} has a schema`);
      }
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const variable of templated) {
        const declared = parameters.find((p) => p.in === "path" && p.name === variable);
        assert.ok(declared, `${name}: path parameter ${variable} is declared`);
        assert.equal(declared.required, true, `${name}: path parameter ${variable} is required`);
      }
      for (const parameter of parameters.filter((p) => p.in === "path")) {
        assert.ok(templated.includes(parameter.name), `${name}: path parameter ${parameter.name} is in the template`);
      }
      const keys = parameters.map((p) => `${p.in}:${p.name}`);
      assert.equal(new Set(keys).size, keys.length, `${name}: no duplicate parameters`);
      if (operation.requestBody) {
        // Only the OAuth endpoints take form bodies (RFC 6749 §4.4.2); everything else is JSON.
        const type = path.startsWith("/oauth/") ? "application/x-www-form-urlencoded" : "application/json";
        assert.ok(operation.requestBody.content?.[type], `${name}: the body is ${type}`);
      }
      if (operation.operationId) {
        assert.ok(!operationIds.has(operation.operationId), `${name}: operationId is unique`);
        operationIds.add(operation.operationId);
      }
    }
    visitRefs(doc);
  });

  it("bodies that forbid unknown fields say so (additionalProperties: false) in the description", () => {
    const schema = (doc.paths["/api/notes"]?.post?.requestBody?.content?.["application/json"] as { schema?: Record<string, unknown> })?.schema;
    assert.ok(schema, "POST /api/notes documents its body");
    const resolved = (typeof schema.$ref === "string" ? resolveRef(schema.$ref) : schema) as Record<string, unknown>;
    assert.equal(resolved.additionalProperties, false);
    assert.deepEqual(Object.keys(resolved.properties as object).sort(), ["body", "title"]);
  });
});

describe("OpenAPI matches what the server does", () => {
  let user: TestUser;

  before(async () => {
    user = await createUser(server.app, "doc-reader", ip());
  });

  it(
    "a query parameter the server defaults is not documented as required",
    async () => {
      const response = await caller(server.app, user)("GET", "/api/notes");
      assert.equal(response.statusCode, 200, "the server accepts GET /api/notes without limit or offset");
      for (const [path, method] of [
        ["/api/notes", "get"],
        ["/admin/users", "get"],
        ["/admin/audit", "get"],
      ] as const) {
        for (const parameter of doc.paths[path]?.[method]?.parameters ?? []) {
          if (parameter.name === "limit" || parameter.name === "offset") {
            assert.notEqual(parameter.required, true, `${method.toUpperCase()} ${path}: ${parameter.name} is optional`);
          }
        }
      }
    },
  );

  it(
    "the documented success status of DELETE /api/notes/{id} is the one the server sends (204)",
    async () => {
      const created = await caller(server.app, user)("POST", "/api/notes", { title: "to delete" });
      assert.equal(created.statusCode, 201, created.body);
      const deleted = await caller(server.app, user)("DELETE", `/api/notes/${(created.json() as { id: string }).id}`);
      assert.equal(deleted.statusCode, 204);
      const documented = Object.keys(doc.paths["/api/notes/{id}"]?.delete?.responses ?? {});
      assert.deepEqual(documented.filter((s) => s.startsWith("2")), ["204"]);
    },
  );
});

describe("GET /docs", () => {
  it("/docs/ is a public HTML page", async () => {
    const response = await server.app.inject({ method: "GET", url: "/docs/", remoteAddress: ip() });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /^text\/html/);
    assert.match(response.body, /<html/i);
  });
});
