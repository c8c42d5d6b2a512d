import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Ajv } from "ajv";
import YAML from "yaml";
import { BUILTIN_ROLES } from "../../src/core/authz/index.ts";
import { canonicalizeTarget } from "../../src/gateway/path.ts";
import {
  type CompiledPolicy,
  compilePolicy,
  DEFAULT_BODY_MAX_BYTES,
  loadPolicyFile,
  PolicyError,
} from "../../src/gateway/policy.ts";
import { MAX_BODY_BYTES, POLICY_SCHEMA_PATH, renderPolicySchema } from "../../src/gateway/policy-schema.ts";

const dir = mkdtempSync(join(tmpdir(), "rampart-policy-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const ORDER_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["item"],
  properties: { item: { type: "string", maxLength: 100 }, quantity: { type: "integer", minimum: 1 } },
};

// The example of CONTRACT.md "Gateway mode", with the body schema filled in.
const CONTRACT_YAML = `
audience: orders-api
roles:
  clerk: [orders:read]
  manager: [orders:read, orders:write]
routes:
  - match: GET /api/health
    auth: public
  - match: GET /api/orders
    permissions: [orders:read]
    limits: ["30/minute burst 10"]
  - match: GET /api/orders/:id
    permissions: [orders:read]
  - match: POST,PATCH /api/orders/:id
    permissions: [orders:write]
    body: { maxBytes: 16384, schema: ${JSON.stringify(ORDER_SCHEMA)} }
`;

const EXPECTED_RULES = [
  { index: 0, methods: ["GET", "HEAD"], path: "/api/health", auth: "public", permissions: [], limits: [] },
  { index: 1, methods: ["GET", "HEAD"], path: "/api/orders", auth: "required", permissions: ["orders:read"], limits: ["30/minute burst 10"] },
  { index: 2, methods: ["GET", "HEAD"], path: "/api/orders/:id", auth: "required", permissions: ["orders:read"], limits: [] },
  {
    index: 3,
    methods: ["POST", "PATCH"],
    path: "/api/orders/:id",
    auth: "required",
    permissions: ["orders:write"],
    limits: [],
    body: { maxBytes: 16384, schema: ORDER_SCHEMA, schemaSource: "policy" },
  },
];

/** A minimal valid policy with `rule` (and `extra` top-level keys) merged in. */
const policyWith = (rule: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  roles: { clerk: ["orders:read"], ops: ["orders:*", "*:read"] },
  routes: [{ match: "GET /api/orders", permissions: ["orders:read"], ...rule }],
  ...extra,
});

/** Compiles and returns the PolicyError's issues (failing when it compiles). */
function issuesOf(input: unknown, source?: string): PolicyError["issues"] {
  try {
    compilePolicy(input, source);
  } catch (error) {
    assert.ok(error instanceof PolicyError, `not a PolicyError: ${error}`);
    assert.ok(error.issues.length > 0);
    for (const issue of error.issues) assert.ok(error.message.includes(`${issue.key}: ${issue.message}`), "message lists every issue");
    return error.issues;
  }
  assert.fail("compiled, expected a PolicyError");
}

/** The distinct keys of the issues (one key may carry several messages). */
const keysOf = (input: unknown, source?: string) => [...new Set(issuesOf(input, source).map((i) => i.key))];

describe("compilePolicy: the contract's example", () => {
  const policy = compilePolicy(YAML.parse(CONTRACT_YAML), "contract.yaml");

  it("compiles to the expected rules", () => {
    assert.equal(policy.audience, "orders-api");
    assert.equal(policy.source, "contract.yaml");
    assert.deepEqual(policy.rules, EXPECTED_RULES);
  });

  it("adds the policy's roles to the built-ins", () => {
    assert.deepEqual(policy.roles, { ...BUILTIN_ROLES, clerk: ["orders:read"], manager: ["orders:read", "orders:write"] });
  });

  it("is deep-frozen", () => {
    assert.ok(Object.isFrozen(policy));
    assert.ok(Object.isFrozen(policy.rules));
    assert.ok(Object.isFrozen(policy.rules[3]?.body?.schema));
    assert.ok(Object.isFrozen(policy.roles.clerk));
    assert.throws(() => (policy.rules as CompiledPolicy["rules"][number][]).push(EXPECTED_RULES[0] as never));
  });

  it("does not freeze or keep the caller's objects", () => {
    const input = YAML.parse(CONTRACT_YAML);
    const compiled = compilePolicy(input);
    assert.ok(!Object.isFrozen(input.routes[3].body.schema));
    assert.ok(!Object.isFrozen(input.roles.clerk));
    input.routes[3].body.schema.type = "array";
    assert.equal((compiled.rules[3]?.body?.schema as { type?: string } | undefined)?.type, "object");
  });

  it("has no audience when none is given (the gateway defaults it to the upstream's origin)", () => {
    const { audience, ...rest } = YAML.parse(CONTRACT_YAML);
    assert.equal(audience, "orders-api");
    assert.equal("audience" in compilePolicy(rest), false);
  });

  it("every rule path is one that canonicalizeTarget accepts unchanged", () => {
    for (const rule of policy.rules) {
      const sample = rule.path.replace(/:\w+/g, "x");
      const result = canonicalizeTarget(sample);
      assert.ok(result.ok && result.path === sample, rule.path);
    }
  });
});

describe("compilePolicy: rules", () => {
  const rulesOf = (routes: unknown[], roles: Record<string, string[]> = { clerk: ["orders:read", "orders:write"] }) =>
    compilePolicy({ roles, routes }).rules;

  it("GET implies HEAD; methods come out in a fixed order, each once", () => {
    assert.deepEqual(rulesOf([{ match: "PATCH,GET,POST /x", auth: "public" }])[0]?.methods, ["GET", "HEAD", "POST", "PATCH"]);
    assert.deepEqual(rulesOf([{ match: "HEAD,GET /x", auth: "public" }])[0]?.methods, ["GET", "HEAD"]);
    assert.deepEqual(rulesOf([{ match: "HEAD /x", auth: "public" }])[0]?.methods, ["HEAD"]);
    assert.deepEqual(rulesOf([{ match: "DELETE,PUT,OPTIONS /x", auth: "public" }])[0]?.methods, ["PUT", "DELETE", "OPTIONS"]);
  });

  it("defaults: auth required, no permissions (authenticated only), no limits, no body", () => {
    assert.deepEqual(rulesOf([{ match: "GET /x" }])[0], { index: 0, methods: ["GET", "HEAD"], path: "/x", auth: "required", permissions: [], limits: [] });
  });

  it("keeps trailing slashes, wildcards, the root and case as written", () => {
    const paths = ["/a/", "/a", "/A", "/", "/static/*", "/v1/:org/repos/:repo/issues", "/.well-known/x.json", "/a/b~c-d_e!$&'()+,=@"];
    const rules = rulesOf(paths.map((p) => ({ match: `GET ${p}`, auth: "public" })));
    assert.deepEqual(rules.map((r) => r.path), paths);
  });

  it("a body without a schema keeps its size; maxBytes defaults to 1 MiB and accepts 100 MiB", () => {
    const [sized, defaulted, max] = rulesOf([
      { match: "POST /a", body: { maxBytes: 10 } },
      { match: "POST /b", body: { schema: { type: "object" } } },
      { match: "POST /c", body: { maxBytes: MAX_BODY_BYTES } },
    ]);
    assert.deepEqual(sized?.body, { maxBytes: 10 });
    assert.deepEqual(defaulted?.body, { maxBytes: DEFAULT_BODY_MAX_BYTES, schema: { type: "object" }, schemaSource: "policy" });
    assert.equal(max?.body?.maxBytes, 100 * 1024 * 1024);
  });

  it("accepts grants through a wildcard action of a named resource, not through a wildcard resource", () => {
    assert.equal(rulesOf([{ match: "DELETE /x", permissions: ["orders:delete"] }], { ops: ["orders:*"] }).length, 1);
    assert.deepEqual(keysOf({ roles: { ops: ["*:read"] }, routes: [{ match: "GET /x", permissions: ["orders:read"] }] }), ["/routes/0/permissions/0"]);
    // admin's "*" grants everything, so it proves nothing about typos.
    assert.deepEqual(keysOf({ routes: [{ match: "GET /x", permissions: ["orders:read"] }] }), ["/routes/0/permissions/0"]);
    assert.deepEqual(keysOf({ routes: [{ match: "GET /x", permissions: ["users:admin"] }] }), ["/routes/0/permissions/0"]);
    // The built-in user role's grants count.
    assert.equal(rulesOf([{ match: "GET /x", permissions: ["notes:read"] }], {}).length, 1);
  });

  it("accepts a $schema key (editors) and two body schemas with the same $id", () => {
    const schema = { $id: "order", type: "object" };
    const policy = compilePolicy({
      $schema: "../schema/rampart.policy.schema.json",
      routes: [
        { match: "POST /a", auth: "public", body: { schema } },
        { match: "POST /b", auth: "public", body: { schema: { ...schema } } },
      ],
    });
    assert.equal(policy.rules.length, 2);
  });

  it("rules that are reachable for some request are not unreachable", () => {
    const rules = rulesOf([
      { match: "GET /api/orders", auth: "public" },
      { match: "GET /api/*" },
      { match: "POST /api/orders" },
      { match: "GET /a/:id" },
      { match: "GET /a/" },
      { match: "GET /b/:id/x" },
      { match: "GET /b/y/*" },
      { match: "GET /c", auth: "public" },
      { match: "HEAD /d", auth: "public" },
    ]);
    assert.equal(rules.length, 9);
  });
});

describe("compilePolicy: every error names its pointer", () => {
  const cases: [string, unknown, string[]][] = [
    ["not an object", [], ["/"]],
    ["null", null, ["/"]],
    ["routes missing", { roles: {} }, ["/routes"]],
    ["routes empty", { routes: [] }, ["/routes"]],
    ["unknown top-level key", policyWith({}, { route: [] }), ["/route"]],
    ["unknown rule key (the permisions typo)", policyWith({ permisions: ["orders:write"] }), ["/routes/0/permisions"]],
    ["unknown body key", policyWith({ body: { maxbytes: 10 } }), ["/routes/0/body/maxbytes"]],
    ["match not a string", policyWith({ match: 1 }), ["/routes/0/match"]],
    ["audience empty", policyWith({}, { audience: "" }), ["/audience"]],
    ["audience with a space", policyWith({}, { audience: "a b" }), ["/audience"]],
    ["auth not public/required", policyWith({ auth: "optional" }), ["/routes/0/auth"]],
    ["auth misspelt", policyWith({ auth: "Public" }), ["/routes/0/auth"]],
    ["permissions on a public rule", policyWith({ auth: "public" }), ["/routes/0/permissions"]],
    ["malformed permission", policyWith({ permissions: ["Orders:Read"] }), ["/routes/0/permissions/0"]],
    ["one-segment permission", policyWith({ permissions: ["orders"] }), ["/routes/0/permissions/0"]],
    ["wildcard required permission", policyWith({ permissions: ["orders:*"] }), ["/routes/0/permissions/0"]],
    ["permission no role grants", policyWith({ permissions: ["orders:read", "order:read"] }), ["/routes/0/permissions/1"]],
    ["role named admin", policyWith({}, { roles: { admin: ["orders:read"] } }), ["/roles/admin"]],
    ["role named user", policyWith({}, { roles: { clerk: ["orders:read"], user: ["orders:read"] } }), ["/roles/user"]],
    ["invalid role name", policyWith({}, { roles: { clerk: ["orders:read"], Clerk: [] } }), ["/roles/Clerk"]],
    ["malformed role grant", policyWith({}, { roles: { clerk: ["orders:read", "orders read"] } }), ["/roles/clerk/1"]],
    ["limit that does not parse", policyWith({ limits: ["30/minute", "30 per minute"] }), ["/routes/0/limits/1"]],
    ["limit with burst 0", policyWith({ limits: ["30/minute burst 0"] }), ["/routes/0/limits/0"]],
    ["maxBytes 0", policyWith({ body: { maxBytes: 0 } }), ["/routes/0/body/maxBytes"]],
    ["maxBytes above 100 MiB", policyWith({ body: { maxBytes: MAX_BODY_BYTES + 1 } }), ["/routes/0/body/maxBytes"]],
    ["maxBytes not an integer", policyWith({ body: { maxBytes: 1.5 } }), ["/routes/0/body/maxBytes"]],
    ["body schema Ajv cannot compile", policyWith({ body: { schema: { type: "nope" } } }), ["/routes/0/body/schema"]],
    ["body schema with a dangling $ref", policyWith({ body: { schema: { $ref: "#/definitions/missing" } } }), ["/routes/0/body/schema"]],
    ["body schema with an unknown format", policyWith({ body: { schema: { type: "string", format: "emial" } } }), ["/routes/0/body/schema"]],
    ["body schema not an object", policyWith({ body: { schema: true } }), ["/routes/0/body/schema"]],
    ["a __proto__ key from JSON.parse", JSON.parse('{"__proto__": {"routes": []}, "routes": [{"match": "GET /x", "auth": "public"}]}'), ["/__proto__"]],
  ];
  for (const [name, input, keys] of cases) {
    it(name, () => assert.deepEqual(keysOf(input), keys));
  }

  it("PolicyError lists every issue at once, with the source", () => {
    const input = {
      roles: { admin: ["x:y"] },
      routes: [
        { match: "get /x" },
        { match: "GET /y", auth: "public", permissions: ["orders:read"] },
        { match: "GET /z", limits: ["lots"], body: { maxBytes: 0 } },
        { match: "GET /z" },
      ],
    };
    let error: unknown;
    try {
      compilePolicy(input, "policy.yaml");
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof PolicyError);
    assert.equal(error.source, "policy.yaml");
    assert.match(error.message, /^invalid gateway policy policy\.yaml:\n {2}\//);
    // Grantability is not judged against a broken role table, nor a rule with schema errors further.
    assert.deepEqual(error.issues.map((i) => i.key).sort(), ["/roles/admin", "/routes/0/match", "/routes/1/permissions", "/routes/2/body/maxBytes"]);
  });
});

describe("compilePolicy: match", () => {
  const bad: [string, RegExp][] = [
    ["GET", /expected "METHOD/],
    ["/api/orders", /expected "METHOD/],
    ["GET /a /b", /expected "METHOD/],
    ["GET  ", /expected "METHOD/],
    ["get /api/orders", /case-sensitive/],
    ["Get /api/orders", /case-sensitive/],
    ["TRACE /api/orders", /unknown method "TRACE"/],
    ["CONNECT /api/orders", /unknown method/],
    ["ANY /api/orders", /unknown method/],
    ["GET,GET /api/orders", /duplicate method "GET"/],
    ["GET,,POST /api/orders", /empty method/],
    ["GET, POST /api/orders", /expected "METHOD/],
    ["GET api/orders", /must start with "\/"/],
    ["GET *", /must start with "\/"/],
    ["GET /api/*/orders", /last segment/],
    ["GET /api*", /whole final segment/],
    ["GET /api/orders*", /whole final segment/],
    ["GET /api/:", /empty parameter name/],
    ["GET /api/:/x", /empty parameter name/],
    ["GET /api/:id(^\\d+$)", /must be a whole segment/],
    ["GET /api/:lat-:lng", /must be a whole segment/],
    ["GET /api/::id", /must be a whole segment/],
    ["GET /api/:id/x/:id", /duplicate parameter ":id"/],
    ["GET /api/orders:export", /":" only at the start/],
    ["GET /api//orders", /ambiguous.*empty path segment/],
    ["GET /api/../admin", /ambiguous.*dot segment/],
    ["GET /api/./orders", /ambiguous.*dot segment/],
    ["GET /api/..", /ambiguous.*dot segment/],
    ["GET /api/orders;v=1", /ambiguous/],
    ["GET /api\\orders", /ambiguous/],
    ["GET /api/%2e%2e/admin", /decoded/],
    ["GET /api/%6frders", /decoded/],
    ["GET /api/orders?x=1", /no query/],
    ["GET /api/orders#x", /ambiguous/],
    ["GET /api/café", /ambiguous/],
    ["GET //api", /ambiguous/],
  ];
  for (const [match, message] of bad) {
    it(`refuses ${JSON.stringify(match)}`, () => {
      const issues = issuesOf({ routes: [{ match, auth: "public" }] });
      assert.deepEqual(issues.map((i) => i.key), ["/routes/0/match"]);
      assert.match(issues[0]?.message ?? "", message);
    });
  }
});

describe("compilePolicy: unreachable rules", () => {
  const unreachable = (routes: string[]) =>
    issuesOf({ routes: routes.map((match) => ({ match, auth: "public" })) });

  it("an identical rule names both indexes", () => {
    const issues = unreachable(["GET /api/health", "POST /api/orders", "GET /api/health"]);
    assert.deepEqual(issues.map((i) => i.key), ["/routes/2/match"]);
    assert.match(issues[0]?.message ?? "", /duplicates rule 0.*rule 2 can never match/);
  });

  it("the same path with other parameter names is a duplicate", () => {
    assert.deepEqual(unreachable(["GET /o/:id", "GET /o/:orderId"]).map((i) => i.key), ["/routes/1/match"]);
  });

  it("one method shared between two multi-method rules is enough", () => {
    const issues = unreachable(["POST,PUT /o", "PATCH,PUT /o"]);
    assert.match(issues[0]?.message ?? "", /^PUT \/o duplicates rule 0/);
  });

  it("HEAD after GET on the same path (GET implies HEAD), and GET after HEAD", () => {
    assert.match(unreachable(["GET /o", "HEAD /o"])[0]?.message ?? "", /^HEAD \/o duplicates rule 0/);
    // The GET rule's HEAD would never get its checks: HEAD must not be governed by a separate rule.
    assert.match(unreachable(["HEAD /o", "GET /o"])[0]?.message ?? "", /^HEAD \/o duplicates rule 0/);
  });

  it("a wildcard or parameter before a narrower rule shadows it", () => {
    assert.match(unreachable(["GET /api/*", "GET /api/admin"])[0]?.message ?? "", /can never match: rule 0 \(GET,HEAD \/api\/\*\)/);
    assert.deepEqual(unreachable(["GET /api/*", "GET /api/a/b/:c"]).map((i) => i.key), ["/routes/1/match"]);
    assert.deepEqual(unreachable(["GET /api/*", "GET /api/"]).map((i) => i.key), ["/routes/1/match"]);
    assert.deepEqual(unreachable(["GET /o/:id", "GET /o/export"]).map((i) => i.key), ["/routes/1/match"]);
    assert.deepEqual(unreachable(["GET /*", "POST /x", "GET /y"]).map((i) => i.key), ["/routes/2/match"]);
  });

  it("reports every unreachable rule", () => {
    assert.deepEqual(unreachable(["GET /a", "GET /a", "GET /a"]).map((i) => i.key), ["/routes/1/match", "/routes/2/match", "/routes/2/match"]);
  });
});

describe("loadPolicyFile", () => {
  it("loads YAML (.yaml and .yml) and JSON to the same compiled policy", () => {
    const input = YAML.parse(CONTRACT_YAML);
    for (const [name, text] of [
      ["p.yaml", CONTRACT_YAML],
      ["p.yml", CONTRACT_YAML],
      ["p.json", JSON.stringify(input, null, "\t")],
    ] as const) {
      const path = write(name, text);
      const policy = loadPolicyFile(path);
      assert.equal(policy.source, path);
      assert.deepEqual(policy.rules, EXPECTED_RULES);
    }
  });

  const fileError = (path: string, message: RegExp) => {
    assert.throws(
      () => loadPolicyFile(path),
      (error: unknown) => {
        assert.ok(error instanceof PolicyError);
        assert.deepEqual(error.issues.map((i) => i.key), ["/"]);
        assert.match(error.issues[0]?.message ?? "", message);
        return true;
      },
    );
  };

  it("refuses an unreadable file", () => fileError(join(dir, "missing.yaml"), /cannot read .*missing\.yaml: ENOENT/));
  it("refuses a directory", () => {
    const path = join(dir, "folder.json");
    mkdirSync(path);
    fileError(path, /cannot read .*EISDIR/);
  });
  it("refuses invalid YAML", () => fileError(write("bad.yaml", "routes:\n  - match: [GET /x\n"), /not valid YAML/));
  it("refuses duplicate keys in YAML", () => fileError(write("dup.yaml", "routes:\n  - match: GET /x\n    auth: required\n    auth: public\n"), /not valid YAML.*[Uu]nique/s));
  it("refuses invalid JSON", () => fileError(write("bad.json", '{"routes": [}'), /not valid JSON/));
  it("refuses duplicate keys in JSON (JSON.parse keeps the last: the rule would turn public)", () => {
    fileError(write("dup.json", '{"routes": [{"match": "GET /x", "auth": "required", "a\\u0075th": "public"}]}'), /duplicate key at \/routes\/0\/auth/);
    fileError(write("dup2.json", '{"roles": {"clerk": ["a:b"]}, "routes": [], "x": {"k": [1, {"y": 1, "y": 2}]}}'), /duplicate key at \/x\/k\/1\/y/);
    fileError(write("dup3.json", '{"a": "}{\\"", "a": 1}'), /duplicate key at \/a/);
  });
  it("accepts the same key in sibling objects of a JSON file", () => {
    const path = write("siblings.json", JSON.stringify({ routes: [{ match: "GET /a", auth: "public" }, { match: "GET /b", auth: "public" }] }));
    assert.equal(loadPolicyFile(path).rules.length, 2);
  });
  it("refuses another extension", () => fileError(write("policy.toml", "x = 1"), /expected a \.yaml, \.yml or \.json file/));
  it("reports schema issues from a file with their pointers", () => {
    const path = write("typo.yaml", "routes:\n  - match: GET /x\n    permisions: [orders:read]\n");
    assert.throws(() => loadPolicyFile(path), (error: unknown) => {
      assert.ok(error instanceof PolicyError);
      assert.equal(error.source, path);
      assert.deepEqual(error.issues.map((i) => i.key), ["/routes/0/permisions"]);
      return true;
    });
  });
});

// A drf-spectacular-style document: trailing slashes, {id} templates, $refs everywhere.
const OPENAPI = {
  openapi: "3.0.3",
  info: { title: "orders", version: "1" },
  paths: {
    "/api/orders/": {
      get: { responses: { 200: { description: "ok" } } },
      post: { requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Order" } } } } },
    },
    "/api/orders/{order_id}/": {
      patch: { requestBody: { $ref: "#/components/requestBodies/OrderPatch" } },
      put: { requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Order" } } } } },
      delete: { responses: { 204: { description: "gone" } } },
    },
    "/api/trees/": {
      post: { requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Node" } } } } },
    },
    "/api/uploads/": {
      post: { requestBody: { content: { "multipart/form-data": { schema: { type: "object" } } } } },
    },
    "/api/broken/": {
      post: { requestBody: { content: { "application/json": { schema: { $ref: "#/components/schemas/Nope" } } } } },
    },
    "/api/remote/": {
      post: { requestBody: { content: { "application/json": { schema: { $ref: "https://example.com/s.json" } } } } },
    },
    "/api/money/": {
      post: { requestBody: { content: { "application/json": { schema: { type: "object", properties: { amount: { type: "string", format: "decimal" } } } } } } },
    },
  },
  components: {
    schemas: {
      Order: {
        type: "object",
        additionalProperties: false,
        required: ["item"],
        properties: { item: { type: "string" }, lines: { type: "array", items: { $ref: "#/components/schemas/Line" } } },
      },
      Line: { type: "object", required: ["sku"], properties: { sku: { type: "string" }, note: { type: "string", nullable: true } } },
      PatchedOrder: { type: "object", additionalProperties: false, properties: { item: { type: "string" } } },
      Node: { type: "object", properties: { children: { type: "array", items: { $ref: "#/components/schemas/Node" } } } },
    },
    requestBodies: {
      OrderPatch: { content: { "application/json": { schema: { $ref: "#/components/schemas/PatchedOrder" } } } },
    },
  },
};

describe("compilePolicy: request body schemas from openapi", () => {
  const openapiPath = write("openapi.json", JSON.stringify(OPENAPI));
  write("openapi.yaml", YAML.stringify(OPENAPI));
  const policyFile = (routes: unknown[], openapi = "./openapi.json") =>
    loadPolicyFile(write(`policy-${Math.random().toString(36).slice(2)}.json`, JSON.stringify({ openapi, roles: { clerk: ["orders:*"] }, routes })));

  it("takes the schema of the matching operation, $refs resolved into $defs, and says so", () => {
    const [rule] = policyFile([{ match: "POST /api/orders/", permissions: ["orders:write"] }]).rules;
    assert.deepEqual(rule?.body, {
      maxBytes: DEFAULT_BODY_MAX_BYTES,
      schemaSource: "openapi",
      schema: {
        $ref: "#/$defs/Order",
        $defs: {
          Order: { ...OPENAPI.components.schemas.Order, properties: { item: { type: "string" }, lines: { type: "array", items: { $ref: "#/$defs/Line" } } } },
          Line: OPENAPI.components.schemas.Line,
        },
      },
    });
    const validate = new Ajv({ strict: false }).compile(rule?.body?.schema as object);
    assert.equal(validate({ item: "pen", lines: [{ sku: "a1", note: null }] }), true);
    assert.equal(validate({ item: "pen", admin: true }), false, "additionalProperties from the $ref'd component");
    assert.equal(validate({ item: "pen", lines: [{ note: "x" }] }), false, "nested $ref enforced");
  });

  it("matches {order_id} to :id, follows a $ref'd requestBody, and keeps the rule's maxBytes", () => {
    const [rule] = policyFile([{ match: "PATCH /api/orders/:id/", permissions: ["orders:write"], body: { maxBytes: 2048 } }]).rules;
    assert.equal(rule?.body?.maxBytes, 2048);
    assert.equal(rule?.body?.schemaSource, "openapi");
    assert.deepEqual(rule?.body?.schema, { $ref: "#/$defs/PatchedOrder", $defs: { PatchedOrder: OPENAPI.components.schemas.PatchedOrder } });
  });

  it("a schema in the policy wins over the document", () => {
    const [rule] = policyFile([{ match: "POST /api/orders/", permissions: ["orders:write"], body: { schema: { type: "object" } } }]).rules;
    assert.deepEqual(rule?.body, { maxBytes: DEFAULT_BODY_MAX_BYTES, schema: { type: "object" }, schemaSource: "policy" });
  });

  it("no body when the operation has none, is not JSON, is absent, or the rule ends in *", () => {
    const rules = policyFile([
      { match: "GET /api/orders/", permissions: ["orders:read"] },
      { match: "DELETE /api/orders/:id/", permissions: ["orders:delete"] },
      { match: "POST /api/uploads/", permissions: ["orders:write"] },
      { match: "POST /api/orders", permissions: ["orders:write"] },
      { match: "POST /api/*", permissions: ["orders:write"] },
    ]).rules;
    assert.deepEqual(rules.map((r) => r.body), [undefined, undefined, undefined, undefined, undefined]);
  });

  it("one schema for a multi-method rule when the operations agree (GET has none)", () => {
    const [rule] = policyFile([{ match: "GET,POST /api/orders/", permissions: ["orders:write"] }]).rules;
    assert.equal(rule?.body?.schemaSource, "openapi");
  });

  it("recursive schemas stay finite", () => {
    const [rule] = policyFile([{ match: "POST /api/trees/", permissions: ["orders:write"] }]).rules;
    const validate = new Ajv({ strict: false }).compile(rule?.body?.schema as object);
    assert.equal(validate({ children: [{ children: [] }] }), true);
    assert.equal(validate({ children: [{ children: 1 }] }), false);
  });

  it("unknown formats in the document are annotations, not errors", () => {
    assert.equal(policyFile([{ match: "POST /api/money/", permissions: ["orders:write"] }]).rules[0]?.body?.schemaSource, "openapi");
  });

  it("reads a YAML document too, relative to the policy file", () => {
    assert.equal(policyFile([{ match: "POST /api/orders/", permissions: ["orders:write"] }], "openapi.yaml").rules[0]?.body?.schemaSource, "openapi");
  });

  it("an inline policy resolves the document from the working directory (or an absolute path)", () => {
    const policy = compilePolicy({ openapi: openapiPath, roles: { clerk: ["orders:*"] }, routes: [{ match: "POST /api/orders/", permissions: ["orders:write"] }] });
    assert.equal(policy.rules[0]?.body?.schemaSource, "openapi");
  });

  const routeError = (match: string, message: RegExp) => {
    assert.throws(() => policyFile([{ match, permissions: ["orders:write"] }]), (error: unknown) => {
      assert.ok(error instanceof PolicyError);
      assert.deepEqual(error.issues.map((i) => i.key), ["/routes/0"]);
      assert.match(error.issues[0]?.message ?? "", message);
      return true;
    });
  };

  it("refuses a rule whose methods have different schemas", () => routeError("PATCH,PUT /api/orders/:id/", /PUT and PATCH .*different request body schemas.*split the rule/));
  it("refuses a dangling $ref", () => routeError("POST /api/broken/", /points at nothing/));
  it("refuses a non-local $ref", () => routeError("POST /api/remote/", /only local \$refs/));

  const documentError = (openapi: string, message: RegExp) => {
    assert.throws(() => policyFile([{ match: "GET /x", permissions: ["orders:read"] }], openapi), (error: unknown) => {
      assert.ok(error instanceof PolicyError);
      assert.deepEqual(error.issues.map((i) => i.key), ["/openapi"]);
      assert.match(error.issues[0]?.message ?? "", message);
      return true;
    });
  };

  it("refuses an unreadable document", () => documentError("./missing.json", /cannot read .*ENOENT/));
  it("refuses a document that does not parse", () => {
    write("broken-openapi.yaml", "paths: [");
    documentError("broken-openapi.yaml", /not valid YAML/);
  });
  it("refuses a Swagger 2.0 document", () => {
    write("swagger.json", JSON.stringify({ swagger: "2.0", paths: {} }));
    documentError("swagger.json", /not an OpenAPI 3 document/);
  });
});

describe("published JSON Schema", () => {
  it(`${POLICY_SCHEMA_PATH} is in sync with src/gateway/policy-schema.ts`, () => {
    assert.equal(readFileSync(POLICY_SCHEMA_PATH, "utf8"), renderPolicySchema(), "run `npm run schema` and commit the result");
  });

  it("is closed at every object level", () => {
    const schema = JSON.parse(renderPolicySchema());
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.properties.roles.additionalProperties, false);
    assert.equal(schema.properties.routes.items.additionalProperties, false);
    assert.equal(schema.properties.routes.items.properties.body.additionalProperties, false);
  });
});
