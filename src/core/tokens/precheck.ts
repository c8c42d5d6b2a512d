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
  /** Header segments already seen on verified tokens (`createHeaderMemo`); parsed again when absent. */
  readonly headers?: HeaderMemo;
}

/** What the header decides: the key it names and the algorithm it claims; every other check passed. */
export interface CheckedHeader {
  readonly kid: string;
  readonly alg: unknown;
}

/**
 * Header segments of tokens that verified, with what they decided. An issuer signs with a handful of
 * keys, so a handful of distinct headers covers every token it issues: a cold token (not in the
 * verified-token cache) then skips decoding and re-checking its header. Only verified tokens are
 * remembered, so forged or junk headers never enter, and the memo stops growing at `capacity`.
 */
export interface HeaderMemo {
  get(segment: string): CheckedHeader | undefined;
  remember(segment: string, header: CheckedHeader): void;
}

export function createHeaderMemo(capacity = 16): HeaderMemo {
  const known = new Map<string, CheckedHeader>();
  return {
    get: (segment) => known.get(segment),
    remember(segment, header) {
      if (known.size < capacity) known.set(segment, header);
    },
  };
}

/** A token that passed the prechecks: the ring key to verify it with, and what the next steps need. */
export interface PrecheckedToken {
  readonly key: RingKey;
  /** Strictly parsed, not yet trusted. */
  readonly payload: Record<string, unknown>;
  readonly headerSegment: string;
  readonly header: CheckedHeader;
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

/** The header's own rules, which do not depend on the key ring or the clock. */
function checkHeader(segment: string): CheckedHeader {
  const header = readSegment(segment, "header");
  for (const name of KEY_SOURCE_HEADERS) {
    if (header[name] !== undefined) throw invalidToken(`forbidden header "${name}"`);
  }
  // RFC 7515 §4.1.11: a recipient must reject `crit` extensions it does not understand; we understand none.
  if (header.crit !== undefined) throw invalidToken("crit not understood");
  if (typeof header.typ !== "string" || !ACCESS_TOKEN_TYPES.has(header.typ.toLowerCase())) throw invalidToken("typ is not at+jwt");
  if (typeof header.kid !== "string") throw invalidToken("missing kid");
  return { kid: header.kid, alg: header.alg };
}

/** Returns the ring key the token must verify with and its payload; throws INVALID_TOKEN otherwise. */
export function readAccessToken(token: unknown, nowSeconds: number, options: PrecheckOptions): PrecheckedToken {
  if (typeof token !== "string") throw invalidToken("not a string");
  if (token.length > options.maxLength) throw invalidToken(`longer than ${options.maxLength} characters`);
  if (!COMPACT_JWS.test(token)) {
    const parts = token.split(".", 6).length;
    throw invalidToken(parts === 5 ? "JWE, not a JWS" : "not a compact JWS");
  }
  const firstDot = token.indexOf(".");
  const headerSegment = token.slice(0, firstDot);
  // The header is checked before the payload is read, so its failures are reported first.
  const header = options.headers?.get(headerSegment) ?? checkHeader(headerSegment);
  // Read before the signature for its member names only; its claims are checked after the signature.
  const payload = readSegment(token.slice(firstDot + 1, token.lastIndexOf(".")), "payload");
  const key = options.keyRing.get(header.kid);
  if (key === undefined) throw invalidToken("unknown kid");
  // The alg is pinned per key: `none`, or HS256 "signed" with a public key (algorithm confusion), fail here.
  if (header.alg !== key.alg) throw invalidToken("alg not allowed");
  if (nowSeconds > key.verifiesUntil) throw invalidToken("key retired");
  return { key, payload, headerSegment, header };
}
