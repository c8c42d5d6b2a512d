/**
 * Structural checks on a compact JWS before any cryptography: cheap, explicit, each failure named.
 * Header and payload must be JSON objects without a repeated member name (strict-json.ts).
 * They pick the verification key from our ring by `kid` and refuse any header that would let the token
 * choose its own algorithm or key (RFC 8725 §2.1, §3.1).
 */
import { invalidToken } from "./invalid-token.ts";
import type { KeyRing, RingKey } from "./key-ring.ts";
import { parseStrictJson } from "./strict-json.ts";

// Three non-empty base64url segments. An empty signature (an unsecured `alg: none` JWS) fails here.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

// Headers that point verification at a key the token supplies or names by URL: embedded `jwk`
// (key injection, CVE-2018-0114), `x5c`, and `jku`/`x5u` (SSRF and attacker-hosted keys, RFC 8725 §3.10).
const KEY_SOURCE_HEADERS = ["jku", "x5u", "jwk", "x5c"] as const;

// Explicit typing (RFC 8725 §3.11) stops an ID token or other JWT from being replayed as an access token.
// RFC 9068 §2.1 and §4: `at+jwt`, with or without the `application/` prefix (RFC 7515 §4.1.9).
const ACCESS_TOKEN_TYPES = new Set(["at+jwt", "application/at+jwt"]);

export interface PrecheckOptions {
  readonly keyRing: Pick<KeyRing, "get">;
  readonly maxLength: number;
}

/** A segment's JSON object, refused when it is not JSON, not an object, or repeats a member name. */
function readSegment(segment: string, name: "header" | "payload"): Record<string, unknown> {
  let parsed: ReturnType<typeof parseStrictJson>;
  try {
    parsed = parseStrictJson(Buffer.from(segment, "base64url").toString("utf8"));
  } catch (error) {
    throw invalidToken(`${name} is not JSON`, error);
  }
  // RFC 7515 §4 / RFC 8725 §3.2: two `alg`, two `sub`… would let two parsers read two different tokens.
  // The member name stays out of the reason: it is attacker text and the reason goes to the log.
  if (!parsed.ok) throw invalidToken(`duplicate member in ${name}`);
  const value = parsed.value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidToken(`${name} is not an object`);
  return value as Record<string, unknown>;
}

/** Returns the ring key the token must verify with; throws INVALID_TOKEN otherwise. */
export function precheckAccessToken(token: unknown, nowSeconds: number, options: PrecheckOptions): RingKey {
  return readAccessToken(token, nowSeconds, options).key;
}

/** `precheckAccessToken`, also returning the payload it read (strictly parsed, not yet trusted). */
export function readAccessToken(token: unknown, nowSeconds: number, options: PrecheckOptions): { key: RingKey; payload: Record<string, unknown> } {
  if (typeof token !== "string") throw invalidToken("not a string");
  if (token.length > options.maxLength) throw invalidToken(`longer than ${options.maxLength} characters`);
  if (!COMPACT_JWS.test(token)) {
    const parts = token.split(".", 6).length;
    throw invalidToken(parts === 5 ? "JWE, not a JWS" : "not a compact JWS");
  }
  const [headerSegment, payloadSegment] = token.split(".") as [string, string, string];
  const header = readSegment(headerSegment, "header");
  // Read before the signature for its member names only; its claims are checked after the signature.
  const payload = readSegment(payloadSegment, "payload");
  for (const name of KEY_SOURCE_HEADERS) {
    if (header[name] !== undefined) throw invalidToken(`forbidden header "${name}"`);
  }
  // RFC 7515 §4.1.11: a recipient must reject `crit` extensions it does not understand; we understand none.
  if (header.crit !== undefined) throw invalidToken("crit not understood");
  if (typeof header.typ !== "string" || !ACCESS_TOKEN_TYPES.has(header.typ.toLowerCase())) throw invalidToken("typ is not at+jwt");
  if (typeof header.kid !== "string") throw invalidToken("missing kid");
  const key = options.keyRing.get(header.kid);
  if (key === undefined) throw invalidToken("unknown kid");
  // The alg is pinned per key: `none`, or HS256 "signed" with a public key (algorithm confusion), fail here.
  if (header.alg !== key.alg) throw invalidToken("alg not allowed");
  if (nowSeconds > key.verifiesUntil) throw invalidToken("key retired");
  return { key, payload };
}
