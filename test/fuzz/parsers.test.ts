/**
 * Property-based tests of every parser that reads attacker-controlled (or operator-written) text:
 * each returns a value or refuses with its own documented error, and never throws anything else.
 * Seeds are fixed; FUZZ_RUNS raises the run counts (see ./support.ts).
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fastifyCookie from "@fastify/cookie";
import fc from "fast-check";
import Fastify from "fastify";
import { ConfigError, loadConfig } from "../../src/config/load.ts";
import { ConfigSchema } from "../../src/config/schema.ts";
import { createClientResolver, normaliseAddress, parseForwarded, parseTrustedProxies, walkHops } from "../../src/core/client.ts";
import { RampartError } from "../../src/core/errors.ts";
import { parsePolicy } from "../../src/core/ratelimit/policy.ts";
import { createAccessTokenIssuer, createAccessTokenVerifier, generateApiToken, parseApiToken } from "../../src/core/tokens/index.ts";
import type { KeyRing } from "../../src/core/tokens/key-ring.ts";
import { canonicalizeTarget } from "../../src/gateway/path.ts";
import { compilePolicy, PolicyError } from "../../src/gateway/policy.ts";
import { PolicySchema } from "../../src/gateway/policy-schema.ts";
import { createCsrfSigner } from "../../src/identity/csrf.ts";
import { readCredential, SESSION_COOKIE } from "../../src/identity/credentials.ts";
import type { PipelineRequest } from "../../src/http/stage-io.ts";
import { AUDIENCE, b64url, claimsAt, forgeEdDsa, forgeHs256, ISSUER, ringWith, settableClock, T0 } from "../core/tokens/fixtures.ts";
import { fromSchema, hostileJson, nastyString, parserRuns } from "./support.ts";

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Asserts `fn` either returns or throws a RampartError with `code`; returns whether it threw. */
async function refusesWith(code: string, fn: () => unknown): Promise<boolean> {
  try {
    await fn();
    return false;
  } catch (error) {
    if (!(error instanceof RampartError) || error.code !== code) {
      assert.fail(`expected ${code}, got ${(error as Error)?.name}: ${(error as Error)?.message}\n${(error as Error)?.stack}`);
    }
    return true;
  }
}

describe("gateway policy parser (compilePolicy)", () => {
  const dir = mkdtempSync(join(tmpdir(), "rampart-fuzz-policy-"));
  const garbageOpenApi = join(dir, "garbage.json");
  const tinyOpenApi = join(dir, "tiny.json");
  writeFileSync(garbageOpenApi, "{ not json");
  writeFileSync(
    tinyOpenApi,
    JSON.stringify({
      openapi: "3.1.0",
      info: { title: "t", version: "1" },
      paths: { "/api/orders": { post: { requestBody: { content: { "application/json": { schema: { type: "object" } } } } } } },
    }),
  );
  after(() => rmSync(dir, { recursive: true, force: true }));

  // `openapi` names a file: never let the fuzzer read arbitrary paths (/dev/zero…), only these.
  const openapi = fc.constantFrom(join(dir, "missing.json"), garbageOpenApi, tinyOpenApi, "", 42);
  const matches = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          fc.subarray(["GET", "POST", "PUT", "PATCH", "DELETE"], { minLength: 1 }),
          fc.array(fc.constantFrom("api", "orders", "items", ":id", ":name", "v1"), { minLength: 1, maxLength: 3 }),
          fc.boolean(),
        )
        .map(([methods, segments, star]) => `${methods.join(",")} /${segments.join("/")}${star ? "/*" : ""}`),
    },
    fc.tuple(
      fc.subarray(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get", "TRACE", ""], { minLength: 1 }),
      fc.array(fc.oneof(fc.constantFrom("api", "orders", ":id", ":", "*", "", "..", "%2f", "a b", "::x"), nastyString(8)), { maxLength: 4 }),
    ).map(([methods, segments]) => `${methods.join(",")} /${segments.join("/")}`),
    nastyString(40),
  );
  const override = (path: string) => {
    if (path === "/openapi") return openapi;
    if (path === "/routes/0/match") return matches;
    return undefined;
  };
  // Mostly-valid policies, so the compiler's later stages (patterns, grants, reachability, body
  // schemas, OpenAPI lookup) run, not just the schema check.
  const permission = fc.constantFrom("orders:read", "orders:write", "notes:read", "x:y:any", "*", "orders:*", "nope", "a:b:c:d", "");
  const rule = fc.record(
    {
      match: matches,
      auth: fc.constantFrom("public", "required", "PUBLIC"),
      permissions: fc.oneof(fc.constant([]), fc.constant(["orders:read"]), fc.array(permission, { maxLength: 2 })),
      limits: fc.oneof(fc.constant(["30/minute burst 10"]), fc.array(fc.constantFrom("30/minute burst 10", "1/second", "0/second", "5/15minutes", "garbage"), { maxLength: 2 })),
      body: fc.record(
        {
          maxBytes: fc.constantFrom(1, 16384, 16384, 0, 2 ** 40),
          schema: fc.oneof(fc.constant({ type: "object", additionalProperties: false }), fc.constant({ type: "nonsense" }), fc.constant({ $ref: "#/nope" }), hostileJson),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ["match"] },
  );
  const crafted = fc.record(
    {
      audience: fc.constantFrom("orders-api", "orders-api", "", "a b"),
      openapi: fc.oneof({ weight: 1, arbitrary: openapi }, { weight: 1, arbitrary: fc.constant(tinyOpenApi) }),
      roles: fc.oneof(
        fc.constant({ clerk: ["orders:read"], manager: ["orders:read", "orders:write"] }),
        fc.dictionary(fc.constantFrom("clerk", "manager", "admin", "user", "Bad", "x"), fc.array(permission, { maxLength: 3 }), { maxKeys: 3 }),
      ),
      routes: fc.array(rule, { minLength: 1, maxLength: 3 }),
    },
    { requiredKeys: ["routes"] },
  );
  const policies = fc.oneof(
    { weight: 1, arbitrary: hostileJson },
    { weight: 3, arbitrary: fromSchema(PolicySchema as never, 0, override) },
    { weight: 6, arbitrary: crafted },
  );

  it("returns a CompiledPolicy or throws PolicyError, never anything else", () => {
    let compiled = 0;
    fc.assert(
      fc.property(policies, (input) => {
        try {
          const policy = compilePolicy(input);
          compiled++;
          assert.ok(Object.isFrozen(policy) && Array.isArray(policy.rules) && policy.rules.length > 0);
          for (const rule of policy.rules) assert.ok(rule.methods.length > 0 && rule.path.startsWith("/"), JSON.stringify(rule));
        } catch (error) {
          if (!(error instanceof PolicyError)) throw error;
          assert.ok(error.issues.length > 0, "a PolicyError names at least one issue");
          for (const issue of error.issues) assert.ok(issue.key.startsWith("/") && issue.message.length > 0, JSON.stringify(issue));
        }
      }),
      parserRuns(300),
    );
    // The generator must reach the compiler's happy path too, or the property says little.
    assert.ok(compiled > 0, "some generated policies compiled");
  });
});

describe("gateway path canonicaliser (canonicalizeTarget)", () => {
  const segmentChar = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(..."abcXYZ019-._~!$&'()*+,=:@") },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, "0")}`) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`) },
    { weight: 1, arbitrary: fc.constantFrom("%", "%2", "%C0%AE", "%E2%80%AE", "%EF%BC%8F", "%2e", "..", ";", "\\", "|", "^", "{", "`", " ", "\u00e9", "\u0000", "#", "?") },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 2 }) },
  );
  const segment = fc.array(segmentChar, { maxLength: 8 }).map((parts) => parts.join(""));
  const query = fc.oneof(fc.constant(""), fc.array(fc.oneof(fc.constantFrom(..."a=b&%20+%zz%"), fc.string({ maxLength: 3 })), { maxLength: 6 }).map((q) => `?${q.join("")}`));
  const targets = fc.oneof(
    { weight: 5, arbitrary: fc.tuple(fc.array(segment, { minLength: 1, maxLength: 6 }), query).map(([segs, q]) => `/${segs.join("/")}${q}`) },
    { weight: 1, arbitrary: nastyString(100) },
    { weight: 1, arbitrary: fc.constantFrom("http://evil.example/x", "*", "//evil.example/a", "/a/b".repeat(3000)) },
  );

  it("never throws; an accepted target's forward form canonicalises to itself with the same path", () => {
    fc.assert(
      fc.property(targets, (raw) => {
        const result = canonicalizeTarget(raw);
        if (!result.ok) {
          assert.equal(typeof result.reason, "string");
          return;
        }
        assert.ok(result.path.startsWith("/"));
        const again = canonicalizeTarget(result.forward);
        assert.ok(again.ok, `forward ${JSON.stringify(result.forward)} of ${JSON.stringify(raw)} was refused: ${again.ok ? "" : again.reason}`);
        assert.equal(again.forward, result.forward, "idempotent");
        assert.equal(again.path, result.path, "same decoded path");
        assert.equal(again.query, result.query, "same query");
        // What goes upstream has no delimiter an upstream could read differently.
        const forwardPath = result.forward.split("?")[0] as string;
        assert.doesNotMatch(forwardPath, /\/\/|\\|;|%2[fF]|%5[cC]|%25|\/\.\.?(\/|$)/, `ambiguous forward ${forwardPath}`);
      }),
      parserRuns(2000),
    );
  });
});

describe("access-token verification", () => {
  let ring: KeyRing;
  let kid: string;
  let valid: string;
  let publicPem: string;
  let verifier: ReturnType<typeof createAccessTokenVerifier>;
  const attacker = generateKeyPairSync("ed25519").privateKey;

  before(async () => {
    const made = await ringWith("EdDSA");
    ring = made.ring;
    kid = made.record.kid;
    publicPem = JSON.stringify(made.record.publicJwk);
    const clock = settableClock(T0 + 1000);
    const issuer = createAccessTokenIssuer({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock });
    valid = (await issuer.issue({ sub: "user-1", roles: ["user"] })).token;
    // No cache: every input goes through the full path.
    verifier = createAccessTokenVerifier({ keyRing: ring, issuer: ISSUER, audience: AUDIENCE, clock, cacheSize: 0 });
    assert.equal((await verifier.verify(valid)).sub, "user-1", "the control token verifies");
  });

  it("refuses arbitrary strings (and non-strings) with RAMPART_ERR_INVALID_TOKEN only", async () => {
    const inputs = fc.oneof(
      nastyString(200),
      fc.array(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{0,60}$/), nastyString(10)), { minLength: 1, maxLength: 5 }).map((parts) => parts.join(".")),
      hostileJson,
      fc.constantFrom("a".repeat(5000), `${"A".repeat(3000)}.${"B".repeat(3000)}.C`, undefined, 42, Symbol.for("x")),
    );
    await fc.assert(
      fc.asyncProperty(inputs, async (input) => {
        assert.ok(await refusesWith("RAMPART_ERR_INVALID_TOKEN", () => verifier.verify(input)), `accepted ${String(input)}`);
      }),
      parserRuns(1500),
    );
  });

  it("refuses structured near-JWTs: chosen headers and claims, forged, transplanted or mutated signatures", async () => {
    const header = fc.record(
      {
        alg: fc.constantFrom("EdDSA", "ES256", "HS256", "RS256", "none", "NONE", "", "Ed25519", null, 1),
        kid: fc.oneof(fc.constant(kid), nastyString(20), fc.constant(null)),
        typ: fc.constantFrom("at+jwt", "application/at+jwt", "JWT", "AT+JWT", "", null, 0),
        jwk: fc.constant({ kty: "OKP", crv: "Ed25519", x: "AAAA" }),
        jku: fc.constant("https://evil.example/jwks"),
        x5u: fc.constant("https://evil.example/cert"),
        crit: fc.constantFrom(["exp"], ["b64"], [], "b64", ["x"]),
        b64: fc.boolean(),
      },
      { requiredKeys: ["alg"] },
    );
    const payload = fc
      .tuple(
        fc.record(
          {
            iss: fc.constantFrom(ISSUER, `${ISSUER}/`, "", null),
            aud: fc.constantFrom(AUDIENCE, [AUDIENCE], ["x", AUDIENCE], "other", null),
            sub: fc.oneof(fc.constant("user-1"), fc.constant(""), fc.integer()),
            exp: fc.oneof(fc.integer({ min: 0, max: 2 ** 33 }), fc.constant("9999999999"), fc.double()),
            nbf: fc.integer({ min: 0, max: 2 ** 33 }),
            iat: fc.integer({ min: 0, max: 2 ** 33 }),
            roles: fc.oneof(fc.constant(["admin"]), fc.constant("admin"), fc.array(hostileJson, { maxLength: 2 })),
            scope: fc.oneof(fc.constant("*"), fc.integer()),
            client_id: fc.constantFrom("rampart", "", null),
            jti: fc.constantFrom("j", "", null),
          },
          { requiredKeys: [] },
        ),
        fc.boolean(),
      )
      .map(([extra, fromValid]) => (fromValid ? claimsAt(T0 / 1000, { roles: ["admin"], ...extra }) : extra));
    const forged = fc.oneof(
      // HS256 with a guessed secret, including the public key itself (algorithm confusion).
      fc.tuple(header, payload, fc.oneof(fc.string(), fc.constant(publicPem), fc.constant(""))).map(([h, p, s]) => forgeHs256(h, p, s)),
      // Signed with the attacker's own Ed25519 key, naming our kid.
      fc.tuple(header, payload).map(([h, p]) => forgeEdDsa(h, p, attacker)),
      // Unsigned / random signature.
      fc.tuple(header, payload, fc.stringMatching(/^[A-Za-z0-9_-]{0,90}$/)).map(([h, p, s]) => `${b64url(h)}.${b64url(p)}.${s}`),
      // Our real signature over a different payload (transplant).
      payload.map((p) => {
        const [h, , s] = valid.split(".");
        return `${h}.${b64url(p)}.${s}`;
      }),
    );
    await fc.assert(
      fc.asyncProperty(forged, async (token) => {
        assert.ok(await refusesWith("RAMPART_ERR_INVALID_TOKEN", () => verifier.verify(token)), `accepted forged ${token}`);
      }),
      parserRuns(800),
    );
  });

  it("refuses every edit of a valid token that changes its bytes", async () => {
    const canonical = (token: string) =>
      token
        .split(".")
        .map((s) => Buffer.from(s, "base64url").toString("base64url"))
        .join(".");
    const edits = fc
      .tuple(fc.nat(), fc.constantFrom(...B64URL, ".", "=", "+", "/", " ", ""), fc.constantFrom("replace", "insert", "delete"))
      .map(([at, ch, op]) => {
        const i = at % valid.length;
        if (op === "delete") return valid.slice(0, i) + valid.slice(i + 1);
        if (op === "insert") return valid.slice(0, i) + ch + valid.slice(i);
        return valid.slice(0, i) + ch + valid.slice(i + 1);
      });
    await fc.assert(
      fc.asyncProperty(edits, async (token) => {
        // A base64url edit that decodes to the same bytes (the spare low bits of the final character)
        // is the same token: the check is that no edit of the *content* passes.
        fc.pre(token !== valid && canonical(token) !== canonical(valid));
        assert.ok(await refusesWith("RAMPART_ERR_INVALID_TOKEN", () => verifier.verify(token)), `accepted edited ${token}`);
      }),
      parserRuns(800),
    );
  });
});

describe("API-token parser (parseApiToken)", () => {
  const real = generateApiToken().token;

  it("refuses arbitrary input with RAMPART_ERR_INVALID_TOKEN and accepts only rmp_ + 49 base62 with a good checksum", async () => {
    const inputs = fc.oneof(
      nastyString(80),
      fc.stringMatching(/^rmp_[0-9A-Za-z]{40,52}$/),
      fc.stringMatching(/^(rmp_|RMP_|rmps_|rmp-|)[0-9A-Za-z_.-]{0,60}$/),
      hostileJson,
    );
    await fc.assert(
      fc.asyncProperty(inputs, async (input) => {
        const refused = await refusesWith("RAMPART_ERR_INVALID_TOKEN", () => parseApiToken(input));
        if (!refused) assert.match(String(input), /^rmp_[0-9A-Za-z]{49}$/, `accepted ${JSON.stringify(input)}`);
      }),
      parserRuns(2000),
    );
  });

  it("accepts generated tokens and refuses every one-character substitution (checksum)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.constantFrom(...BASE62), async (at, ch) => {
        const i = 4 + (at % (real.length - 4));
        fc.pre(real[i] !== ch);
        const typo = real.slice(0, i) + ch + real.slice(i + 1);
        assert.ok(await refusesWith("RAMPART_ERR_INVALID_TOKEN", () => parseApiToken(typo)), `accepted typo ${typo}`);
      }),
      parserRuns(1000),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), () => {
        assert.equal(parseApiToken(generateApiToken().token).token.length, real.length);
      }),
      parserRuns(50),
    );
  });
});

describe("CSRF token verification (createCsrfSigner)", () => {
  const signer = createCsrfSigner(Buffer.alloc(32, 7));
  const other = createCsrfSigner(Buffer.alloc(32, 8));
  const sessionId = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);

  it("accepts its own token for its session only; never throws; refuses arbitrary and mutated tokens", () => {
    fc.assert(
      fc.property(sessionId, sessionId, nastyString(250), fc.nat(), fc.constantFrom(...B64URL, "."), (sid, sid2, garbage, at, ch) => {
        const token = signer.issue(sid);
        assert.equal(signer.verify(sid, token), true);
        if (sid2 !== sid) assert.equal(signer.verify(sid2, token), false, "bound to the session");
        assert.equal(other.verify(sid, token), false, "bound to the key");
        assert.equal(signer.verify(sid, garbage), false, `accepted ${JSON.stringify(garbage)}`);
        assert.equal(signer.verify(sid, undefined), false);
        const i = at % token.length;
        const mutated = token.slice(0, i) + ch + token.slice(i + 1);
        if (mutated !== token) assert.equal(signer.verify(sid, mutated), false, `accepted mutated ${mutated}`);
        assert.equal(signer.verify(sid, `${token}.${token}`), false);
        assert.equal(signer.verify(sid, `${token}, ${token}`), false, "two headers joined by Node");
      }),
      parserRuns(1500),
    );
  });
});

describe("cookie header parsing as the server does it", () => {
  // The server parses with the decorator @fastify/cookie installs (protect.ts); use that very function.
  const server = Fastify();
  let parseCookie: (header: string) => Record<string, string | undefined>;
  before(async () => {
    await server.register(fastifyCookie, { hook: false });
    await server.ready();
    parseCookie = (header) => server.parseCookie(header);
  });
  after(() => server.close());
  const request = (cookie: string, authorization?: string): PipelineRequest =>
    ({
      headers: { cookie, ...(authorization === undefined ? {} : { authorization }) },
      server: { parseCookie },
    }) as unknown as PipelineRequest;
  const pair = fc.tuple(
    fc.oneof(fc.constantFrom(SESSION_COOKIE, "rampart_session", "__proto__", "constructor", "", " "), nastyString(12)),
    fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{0,40}$/), nastyString(30), fc.constantFrom('"quoted"', "%E0%A4%A", "%", "a=b", "\u0000")),
  );
  const header = fc.oneof(
    fc
      .tuple(fc.array(pair, { maxLength: 6 }), fc.constantFrom("; ", ";", ", "))
      .map(([pairs, separator]) => pairs.map(([k, v]) => `${k}=${v}`).join(separator)),
    nastyString(200),
  );

  it("never throws, never pollutes prototypes, and yields a string credential or none", () => {
    fc.assert(
      fc.property(header, fc.boolean(), fc.option(nastyString(40), { nil: undefined }), (cookie, secureOnly, authorization) => {
        const parsed = parseCookie(cookie) as Record<string, unknown>;
        for (const value of Object.values(parsed)) assert.equal(typeof value, "string");
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal(Object.hasOwn(Object.prototype, "polluted"), false);
        const credential = readCredential(request(cookie, authorization), secureOnly);
        if (credential && credential.kind !== "malformed") {
          assert.equal(typeof credential.token, "string");
          assert.ok(credential.token.length > 0);
        }
        if (authorization === undefined && credential?.kind === "cookie" && secureOnly) {
          assert.equal(credential.token, parsed[SESSION_COOKIE], "over HTTPS only the __Host- cookie counts");
        }
      }),
      parserRuns(2000),
    );
  });
});

describe("client IP and Forwarded parsing (core/client.ts)", () => {
  // The hop grammar of walkHops: `[v6]:port`, `v4:port` (exactly one colon), or a bare address.
  const withoutPort = (hop: string) => {
    const text = hop.trim();
    if (text.startsWith("[")) return text.slice(0, text.indexOf("]") + 1);
    const colon = text.indexOf(":");
    return colon !== -1 && colon === text.lastIndexOf(":") ? text.slice(0, colon) : text;
  };
  const ipv4 = fc.ipV4();
  const ip = fc.oneof(ipv4, fc.ipV6(), ipv4.map((a) => `::ffff:${a}`));
  const hop = fc.oneof(
    ip,
    ipv4.map((a) => `${a}:8080`),
    fc.ipV6().map((a) => `[${a}]:443`),
    fc.constantFrom("unknown", "_hidden", "", " ", "[", "[::1", "1.2.3.4.5", "fe80::1%eth0", "::1%25"),
    nastyString(20),
  );
  const forwardedHeader = fc.oneof(
    fc
      .array(fc.tuple(hop, fc.constantFrom("http", "https", "HTTPS", "ftp", ""), fc.boolean()), { maxLength: 5 })
      .map((els) => els.map(([h, p, quote]) => `for=${quote ? `"${h}"` : h};proto=${p}`).join(", ")),
    nastyString(120),
  );
  const trusted = parseTrustedProxies(["10.0.0.0/8", "192.168.1.1", "fd00::/8"]);

  it("parseForwarded and walkHops never throw; the walk yields a real address", () => {
    fc.assert(
      fc.property(forwardedHeader, fc.array(hop, { maxLength: 6 }), ip, (header, hops, socket) => {
        const elements = parseForwarded(header);
        assert.ok(Array.isArray(elements));
        const socketIp = normaliseAddress(socket) as string;
        const client = walkHops(hops, socketIp, trusted);
        assert.equal(normaliseAddress(client), client, `walk gave a non-canonical address ${client}`);
        assert.ok(client === socketIp || hops.some((h) => normaliseAddress(withoutPort(h)) === client), `walk invented ${client}`);
      }),
      parserRuns(2000),
    );
  });

  it("createClientResolver: an untrusted peer's forwarding headers are ignored; the IP is always canonical", () => {
    for (const proxyHeaders of ["both", "x-forwarded", "forwarded"] as const) {
      const resolve = createClientResolver({ trustedProxies: trusted, proxyHeaders });
      fc.assert(
        fc.property(
          fc.oneof(ip, fc.constantFrom("10.1.2.3", "::ffff:10.0.0.1", "fd00::1", "192.168.1.1"), nastyString(10)),
          fc.boolean(),
          fc.option(fc.oneof(forwardedHeader, fc.array(forwardedHeader, { maxLength: 2 })), { nil: undefined }),
          fc.option(fc.oneof(fc.array(hop, { maxLength: 4 }).map((h) => h.join(", ")), nastyString(40)), { nil: undefined }),
          fc.option(fc.constantFrom("https", "http", "https, http", "http,https", "HTTPS", "", "wss"), { nil: undefined }),
          (socketAddress, socketEncrypted, forwarded, xForwardedFor, xForwardedProto) => {
            const info = resolve({ socketAddress, socketEncrypted, forwarded, xForwardedFor, xForwardedProto });
            assert.equal(normaliseAddress(info.ip), info.ip, `non-canonical ${info.ip}`);
            assert.ok(info.scheme === "http" || info.scheme === "https");
            const socketIp = normaliseAddress(socketAddress) ?? "0.0.0.0";
            if (!trusted.isTrusted(socketIp)) {
              assert.deepEqual(info, { ip: socketIp, scheme: socketEncrypted ? "https" : "http", viaTrustedProxy: false });
            }
          },
        ),
        parserRuns(1500),
      );
    }
  });
});

describe("rate-limit policy strings (parsePolicy)", () => {
  const UNIT_MS = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };
  const spec = fc
    .tuple(
      fc.oneof(fc.integer({ min: 0, max: 10 ** 7 }), fc.constantFrom(2 ** 53, 10 ** 20)),
      fc.option(fc.integer({ min: 0, max: 10 ** 6 }), { nil: undefined }),
      fc.constantFrom("second", "minute", "hour", "day", "seconds", "days", "week", "Second"),
      fc.option(fc.oneof(fc.integer({ min: 0, max: 10 ** 9 }), fc.constant(2 ** 60)), { nil: undefined }),
      fc.constantFrom("", " ", "  "),
    )
    .map(([limit, n, unit, burst, ws]) => ({ limit, n, unit, burst, text: `${ws}${limit}${ws}/${ws}${n ?? ""}${unit}${burst === undefined ? "" : ` burst ${burst}`}${ws}` }));

  it("returns a sound frozen policy or throws TypeError, for arbitrary strings", () => {
    fc.assert(
      fc.property(fc.oneof(nastyString(40), spec.map((s) => s.text), hostileJson), fc.oneof(fc.constantFrom("login", "burst"), nastyString(10)), (text, name) => {
        let policy: ReturnType<typeof parsePolicy>;
        try {
          policy = parsePolicy(name, text as string);
        } catch (error) {
          assert.ok(error instanceof TypeError, `threw ${(error as Error).name}: ${(error as Error).message}`);
          return;
        }
        assert.ok(Object.isFrozen(policy));
        for (const k of ["limit", "burst", "periodMs"] as const) assert.ok(Number.isSafeInteger(policy[k]) && policy[k] >= 1, `${k}=${policy[k]}`);
        assert.equal(policy.periodMs % 1000, 0);
      }),
      parserRuns(2000),
    );
  });

  it("round-trips the numbers of a well-formed spec", () => {
    fc.assert(
      fc.property(spec, ({ limit, n, unit, burst, text }) => {
        const base = unit.replace(/s$/, "") as keyof typeof UNIT_MS;
        let policy: ReturnType<typeof parsePolicy> | undefined;
        try {
          policy = parsePolicy("p", text);
        } catch (error) {
          assert.ok(error instanceof TypeError);
        }
        if (!policy) return;
        assert.ok(base in UNIT_MS, `accepted unit ${unit}`);
        assert.equal(policy.limit, limit);
        assert.equal(policy.periodMs, (n ?? 1) * UNIT_MS[base]);
        assert.equal(policy.burst, burst ?? limit);
      }),
      parserRuns(2000),
    );
  });
});

describe("config loading (loadConfig)", () => {
  const dir = mkdtempSync(join(tmpdir(), "rampart-fuzz-config-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  // File paths in the config are read at resolve time: keep them to harmless ones.
  const files = fc.constantFrom(join(dir, "missing.pem"), join(dir, "empty.pem"), "", "relative.pem");
  writeFileSync(join(dir, "empty.pem"), "");
  const override = (path: string) => (/File$/.test(path) || /\/(certFile|keyFile|policy)$/.test(path) ? files : path === "/dataDir" ? fc.constant(dir) : undefined);
  const envNames = ["RAMPART_ENV", "PORT", "HOST", "RAMPART_CORS_ORIGINS", "RAMPART_TRUSTED_PROXIES", "RAMPART_REGISTRATION", "RAMPART_ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"];
  const env = fc.dictionary(fc.constantFrom(...envNames), fc.oneof(nastyString(30), fc.constantFrom("production", "development", "10.0.0.0/8", "*", "https://a.example", "open", "closed", "8080", "redis://x", "postgres://x")), {
    maxKeys: 3,
  });
  const configFile = fc.option(
    fc.oneof(
      hostileJson.map((v) => JSON.stringify(v) ?? "null"),
      nastyString(40),
      fromSchema(ConfigSchema as never, 0, override).map((v) => JSON.stringify(v)),
    ),
    { nil: undefined },
  );

  it("returns a frozen config or throws ConfigError naming keys, for arbitrary overrides, env and files", () => {
    let loaded = 0;
    let n = 0;
    fc.assert(
      fc.property(fc.oneof({ weight: 5, arbitrary: fromSchema(ConfigSchema as never, 0, override) }, { weight: 1, arbitrary: hostileJson }), env, configFile, (overrides, environment, file) => {
        const e: Record<string, string> = { RAMPART_DATA_DIR: dir, ...environment };
        if (file !== undefined) {
          const path = join(dir, `c${n++ % 4}.json`);
          writeFileSync(path, file);
          e.RAMPART_CONFIG = path;
        }
        try {
          const config = loadConfig({ env: e, overrides: overrides as Record<string, unknown> });
          loaded++;
          assert.ok(Object.isFrozen(config));
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          assert.ok(error.issues.length > 0);
        }
        assert.equal(({} as Record<string, unknown>).polluted, undefined, "prototype polluted");
      }),
      parserRuns(400),
    );
    assert.ok(loaded > 0, "some generated configs loaded");
  });
});
