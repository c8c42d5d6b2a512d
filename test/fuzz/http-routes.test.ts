/**
 * HTTP fuzzing of the reference server (composeServer, temp data dir, route rate limits off) over
 * `inject()`: for every route it registers (`app.rampartRoutes()`), arbitrary methods, paths (encoded
 * garbage included), query strings, headers and bodies (JSON values, non-JSON bytes, large strings,
 * wrong content types), anonymous or with a user's, an admin's or an API token's credentials.
 *
 * Whatever arrives, the response
 * - is never 5xx;
 * - carries `X-Content-Type-Options: nosniff`, a `Content-Security-Policy` and an `X-Request-Id`;
 * - when 4xx, is `application/problem+json` whose `status` is the HTTP status and whose `requestId`
 *   is the header's — except the OAuth endpoints' own errors, which RFC 6749 §5.2 makes
 *   `application/json` with an `error` code (CONTRACT.md "Service clients").
 *
 * FUZZ_HTTP_RUNS raises the run count (see ./support.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import fc from "fast-check";
import { setRolesInStore } from "../support/authz.ts";
import { bearer, type IdentityApp, loginOk, PASSWORD, register, startIdentityApp } from "../support/identity.ts";
import { httpRuns, nastyString } from "./support.ts";

const IP = "10.77.0.1";
const USER = "fuzz-user@example.com";
const ADMIN = "fuzz-admin@example.com";

interface Credentials {
  user: string;
  admin: string;
  apiToken: string;
  /** Real ids, so some fuzzed params reach the handlers' object lookups. */
  ids: string[];
}

describe("HTTP fuzz of every route of the reference server", () => {
  let t: IdentityApp;
  let creds: Credentials;
  let routes: { method: string; url: string }[];

  let userId = "";
  async function freshCredentials(): Promise<Credentials> {
    const admin = (await loginOk(t.app, ADMIN, IP)).access_token;
    // A fuzzed admin request may have disabled or demoted the user: put it back.
    if (userId) {
      const restored = await t.app.inject({ method: "PATCH", url: `/admin/users/${userId}`, remoteAddress: IP, headers: bearer(admin), payload: { disabled: false, roles: ["user"] } });
      assert.equal(restored.statusCode, 200, restored.body);
    }
    const user = (await loginOk(t.app, USER, IP)).access_token;
    const token = await t.app.inject({ method: "POST", url: "/auth/tokens", remoteAddress: IP, headers: bearer(user), payload: { name: "fuzz", scopes: ["notes:read", "notes:write"] } });
    assert.equal(token.statusCode, 201, token.body);
    const note = await t.app.inject({ method: "POST", url: "/api/notes", remoteAddress: IP, headers: bearer(user), payload: { title: "t", body: "b" } });
    assert.equal(note.statusCode, 201, note.body);
    const me = await t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: IP, headers: bearer(user) });
    return { user, admin, apiToken: token.json().token, ids: [token.json().id, note.json().id, me.json().id] };
  }

  before(async () => {
    t = await startIdentityApp();
    const registered = await register(t.app, USER, PASSWORD, IP);
    assert.equal(registered.statusCode, 201);
    userId = registered.json().id;
    const admin = await register(t.app, ADMIN, PASSWORD, IP);
    assert.equal(admin.statusCode, 201);
    await setRolesInStore(t.dataDir, admin.json().id, ["admin"]);
    creds = await freshCredentials();
    routes = t.app.rampartRoutes().map(({ method, url }) => ({ method, url }));
    assert.ok(routes.length > 30, `${routes.length} routes`);
  });
  after(() => t?.close());

  // ---- generators -------------------------------------------------------------------------------

  const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "CONNECT"];
  const encodedGarbage = fc.oneof(
    fc.string({ maxLength: 20 }).map(encodeURIComponent),
    fc.string({ unit: "binary", maxLength: 10 }).map(encodeURIComponent),
    fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }).map((bytes) => bytes.map((b) => `%${b.toString(16).padStart(2, "0")}`).join("")),
    fc.constantFrom("%", "%zz", "%2e%2e", "..", ".", "%2f", "%00", "%C0%AE", "a;b", "%E2%80%AE", "~", "*", "x".repeat(300), "1e3", "-1", "00000000-0000-0000-0000-000000000000"),
  );

  /** A route's URL with its params filled in (sometimes with real ids), or a mutation of it. */
  const pathFor = (url: string) =>
    fc
      .tuple(
        fc.array(fc.oneof({ weight: 1, arbitrary: encodedGarbage }, { weight: 1, arbitrary: fc.constantFrom(...creds.ids, "editor", "rmpc_x") }), {
          minLength: 4,
          maxLength: 4,
        }),
        fc.constantFrom("as-is", "as-is", "as-is", "as-is", "as-is", "as-is", "trailing-slash", "double-slash", "upper", "suffix"),
        encodedGarbage,
      )
      .map(([fill, mutation, garbage]) => {
        let i = 0;
        let path = url === "*" ? `/${garbage}` : url.replace(/:[A-Za-z_]+|\*$/g, () => fill[i++ % fill.length] as string);
        if (mutation === "trailing-slash") path += "/";
        if (mutation === "double-slash") path = `/${path}`;
        if (mutation === "upper") path = path.toUpperCase();
        if (mutation === "suffix") path += `/${garbage}`;
        return path;
      });

  const query = fc.oneof(
    { weight: 3, arbitrary: fc.constant("") },
    {
      weight: 2,
      arbitrary: fc
        .array(
          fc.tuple(
            fc.oneof(fc.constantFrom("limit", "offset", "type", "since", "session", "access_token", "__proto__", "constructor[prototype][x]", "a[]", "scope"), encodedGarbage),
            fc.oneof(fc.constantFrom("cookie", "-1", "0", "1e9", "99999999999999999999", "true", "", "2030-01-01T00:00:00Z", "[]"), encodedGarbage),
          ),
          { maxLength: 4 },
        )
        .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`),
    },
    { weight: 1, arbitrary: encodedGarbage.map((g) => `?${g}`) },
  );

  const headerValue = fc.oneof(
    fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,60}$/),
    fc.constantFrom("", "null", "*", "application/json", "text/html", "\t", "x".repeat(2000)),
  );
  const CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin1",
    "APPLICATION/JSON",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/problem+json",
    "application/octet-stream",
    "application/jsonx",
    "",
    ";",
  ];
  const hostileHeaders = fc.record(
    {
      "content-type": fc.oneof(fc.constantFrom(...CONTENT_TYPES), headerValue),
      accept: fc.oneof(fc.constantFrom("application/json", "text/html", "*/*", "application/xml", "application/problem+json", "text/plain;q=0, */*;q=0", ""), headerValue),
      origin: fc.constantFrom("http://localhost:8080", "https://evil.example", "null", "http://api.test"),
      "sec-fetch-site": fc.constantFrom("same-origin", "cross-site", "none"),
      "x-csrf-token": headerValue,
      cookie: fc.oneof(fc.constantFrom("rampart_session=abc", "__Host-rampart_session=eyJ.eyJ.x", "rampart_refresh=x; rampart_csrf=y"), headerValue),
      "x-forwarded-for": fc.oneof(fc.ipV4(), headerValue),
      forwarded: fc.oneof(fc.constant('for="[::1]";proto=https'), headerValue),
      "x-forwarded-proto": fc.constantFrom("https", "http", "ftp"),
      host: fc.constantFrom("localhost", "api.test:8080", "[::1]", "evil.example", ""),
      "x-http-method-override": fc.constantFrom("DELETE", "GET"),
      range: fc.constantFrom("bytes=0-1", "bytes=-1"),
      "if-none-match": fc.constant("*"),
      "accept-encoding": fc.constantFrom("gzip", "br", "identity;q=0"),
      "x-request-id": headerValue,
    },
    { requiredKeys: [] },
  );
  // Mostly well-behaved headers, so requests get past negotiation and into the handlers; hostile ones
  // a third of the time.
  const headers = fc.oneof(
    { weight: 2, arbitrary: fc.record({ "content-type": fc.constantFrom("application/json", "application/json", "application/x-www-form-urlencoded", "text/plain") }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: hostileHeaders },
  );
  const extraHeaders = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), headerValue, { maxKeys: 3 });

  const jsonBodies = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record(
      {
        email: fc.oneof(fc.constantFrom(USER, ADMIN, "x@y.z", ""), nastyString(40)),
        password: fc.oneof(fc.constantFrom(PASSWORD, "short"), nastyString(300)),
        refresh_token: nastyString(60),
        title: nastyString(250),
        body: nastyString(100),
        name: nastyString(40),
        scopes: fc.array(fc.oneof(fc.constantFrom("notes:read", "*", "users:admin"), nastyString(10)), { maxLength: 3 }),
        expires_in_days: fc.oneof(fc.integer({ min: -5, max: 400 }), fc.double()),
        roles: fc.array(fc.constantFrom("admin", "user", "nope"), { maxLength: 2 }),
        disabled: fc.boolean(),
        permissions: fc.array(fc.constantFrom("notes:read", "*", "x"), { maxLength: 2 }),
        mfa: fc.constantFrom("required", null, "x"),
        code: fc.oneof(fc.stringMatching(/^\d{6}$/), nastyString(10)),
        recovery_code: nastyString(20),
        mfa_token: nastyString(40),
        // Never the real password: a successful change would lock the fuzzer out of its own account.
        current_password: fc.constantFrom("wrong wrong wrong wrong", ""),
        new_password: nastyString(40),
        id: nastyString(20),
        owner_id: nastyString(20),
        __proto__: fc.constant({ polluted: true }),
        constructor: fc.constant({ prototype: { polluted: true } }),
      },
      { requiredKeys: [] },
    ),
  );
  const body = fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 4, arbitrary: jsonBodies.map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 1, arbitrary: nastyString(200) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"a":1',
        '{"__proto__":{"x":1}}',
        '{"constructor":{"prototype":{"x":1}}}',
        "[".repeat(5000),
        `{"title":"${"x".repeat(900_000)}"}`,
        `"${"é".repeat(300_000)}"`,
        "grant_type=client_credentials&scope=notes:read",
        "token=abc&token_type_hint=access_token",
        "\uFEFF{}",
        "null",
        "",
      ),
    },
  );
  const auth = fc.constantFrom("anonymous", "user", "admin", "api-token", "token-scheme", "basic", "garbage");

  const request = fc
    .tuple(fc.nat(), fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }), fc.nat(), query, headers, extraHeaders, body, auth)
    .chain(([routeIndex, method, _seed, q, h, extra, payload, who]) => {
      const route = routes[routeIndex % routes.length] as { method: string; url: string };
      return pathFor(route.url).map((path) => ({ method: method ?? route.method, url: `${path}${q}`, headers: { ...extra, ...h }, payload, who }));
    });

  // ---- the property -----------------------------------------------------------------------------

  function credentialHeaders(who: string): Record<string, string> {
    switch (who) {
      case "user":
        return bearer(creds.user);
      case "admin":
        return bearer(creds.admin);
      case "api-token":
        return bearer(creds.apiToken);
      case "token-scheme":
        return { authorization: `Token ${creds.apiToken}` };
      case "basic":
        return { authorization: `Basic ${Buffer.from("rmpc_x:rmps_y").toString("base64")}` };
      case "garbage":
        return { authorization: "Bearer eyJhbGciOiJub25lIn0.e30." };
      default:
        return {};
    }
  }

  function check(response: LightMyRequestResponse, input: InjectOptions): void {
    const where = `${input.method} ${input.url} → ${response.statusCode} ${response.body.slice(0, 300)}`;
    assert.ok(response.statusCode < 500, `5xx: ${where}`);
    assert.equal(response.headers["x-content-type-options"], "nosniff", `nosniff: ${where}`);
    assert.ok(response.headers["content-security-policy"], `CSP: ${where}`);
    assert.ok(response.headers["x-request-id"], `X-Request-Id: ${where}`);
    assert.equal(response.headers["x-powered-by"], undefined, `X-Powered-By: ${where}`);
    if (response.statusCode < 400 || input.method === "HEAD") return;
    const type = String(response.headers["content-type"] ?? "");
    const url = String(input.url);
    if (url.startsWith("/oauth/") && /^application\/json/.test(type)) {
      // RFC 6749 §5.2 error response on the OAuth endpoints.
      assert.equal(typeof response.json().error, "string", `OAuth error without "error": ${where}`);
      return;
    }
    assert.match(type, /^application\/problem\+json/, `4xx not problem+json (${type}): ${where}`);
    const problem = response.json() as Record<string, unknown>;
    assert.equal(problem.status, response.statusCode, `problem status: ${where}`);
    assert.equal(problem.requestId, response.headers["x-request-id"], `requestId: ${where}`);
    assert.doesNotMatch(response.body, /\bat .+\.(ts|js):\d+|node_modules|SQLITE_|syntax error at/i, `internal detail leaked: ${where}`);
  }

  it("never answers 5xx, always sends the security headers, and every 4xx is a consistent problem", async () => {
    let authenticated = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ method, url, headers: h, payload, who }) => {
        const input: InjectOptions = {
          method: method as InjectOptions["method"],
          url,
          remoteAddress: IP,
          headers: { ...h, ...credentialHeaders(who) },
          ...(payload === undefined ? {} : { payload }),
        };
        const response = await t.app.inject(input);
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        if (who !== "anonymous" && response.statusCode < 400) authenticated++;
        check(response, input);
        // A fuzzed request may end the session it used (logout, password change, token deletion,
        // a role edit): renew the credentials so later runs still reach authenticated handlers.
        if (response.statusCode < 300 && (method !== "GET" || url.startsWith("/auth/logout"))) {
          const probe = await Promise.all([creds.user, creds.admin].map((token) => t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: IP, headers: bearer(token) })));
          const api = await t.app.inject({ method: "GET", url: "/auth/me", remoteAddress: IP, headers: bearer(creds.apiToken) });
          if ([...probe, api].some((r) => r.statusCode !== 200)) creds = await freshCredentials();
        }
      }),
      httpRuns(400),
    );
    process.stderr.write(`http fuzz statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}; authenticated 2xx/3xx: ${authenticated}\n`);
  });
});
