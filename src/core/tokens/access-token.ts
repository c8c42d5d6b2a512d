/**
 * RFC 9068 JWT access tokens: issue with the ring's active key, verify with the key pinned to the
 * token's `kid` after the structural prechecks, and cache verified tokens until `exp`.
 */
import { randomBytes } from "node:crypto";
import { SignJWT, type JWTPayload } from "jose";
import { checkRegisteredClaims } from "./claims-check.ts";
import { invalidToken } from "./invalid-token.ts";
import type { KeyRing } from "./key-ring.ts";
import { createHeaderMemo, readAccessToken } from "./precheck.ts";
import type { SignatureCheck } from "./signature.ts";
import { createTokenCache } from "./token-cache.ts";

export interface AccessTokenClaims {
  readonly iss: string;
  readonly aud: string | readonly string[];
  readonly sub: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly jti: string;
  /** RFC 9068 §2.2 requires it; Rampart is its own client, so this is a fixed id. */
  readonly client_id: string;
  readonly roles: readonly string[];
  /** Session id, present for tokens born from a login session. */
  readonly sid?: string;
  /** Space-separated scopes (RFC 9068 §2.2.3), present when the token is narrowed. */
  readonly scope?: string;
}

/** `client_id` of the tokens Rampart issues to its own users (RFC 9068 §2.2); any other is a service client. */
export const RAMPART_CLIENT_ID = "rampart";

export interface IssueAccessTokenInput {
  sub: string;
  /** A service client's id (client credentials grant); default the issuer's own `clientId`. */
  clientId?: string;
  roles: readonly string[];
  sid?: string;
  scope?: string | readonly string[];
}

export interface IssuedAccessToken {
  readonly token: string;
  readonly claims: AccessTokenClaims;
  /** Seconds, for the `expires_in` member of a token response. */
  readonly expiresIn: number;
}

export interface AccessTokenIssuerOptions {
  keyRing: KeyRing;
  issuer: string;
  audience: string;
  /** Seconds. Default 600. */
  lifetime?: number;
  /** Default `"rampart"`. */
  clientId?: string;
  /** Epoch milliseconds; defaults to `Date.now`. */
  clock?: () => number;
}

export interface AccessTokenVerifierOptions {
  /** Where keys are found by `kid`: the local ring, or a remote JWKS (remote-key-set.ts). */
  keyRing: Pick<KeyRing, "get">;
  issuer: string;
  audience: string | readonly string[];
  /** Seconds of skew allowed on `exp`/`nbf`/`iat` (a token issued further in the future is refused). Default 5. */
  clockTolerance?: number;
  /** Longer inputs are refused before decoding. Default 4096. */
  maxLength?: number;
  /** Verified tokens kept (LRU). Default 10 000; 0 disables the cache. */
  cacheSize?: number;
  clock?: () => number;
}

export interface AccessTokenIssuer {
  /** Signs a new token with the ring's active key. */
  issue(input: IssueAccessTokenInput): Promise<IssuedAccessToken>;
}

export interface AccessTokenVerifier {
  /**
   * `verify`, synchronously: the signature is checked with node:crypto on this thread, so a token not
   * in the cache costs no promise. Throws RAMPART_ERR_INVALID_TOKEN with a `reason`.
   */
  verifyNow(token: unknown): AccessTokenClaims;
  /** Full verification (or a cache hit). Rejects with RAMPART_ERR_INVALID_TOKEN and a `reason`. */
  verify(token: unknown): Promise<AccessTokenClaims>;
  /** Synchronous cache lookup: the claims of a token verified before and not yet expired, else undefined. */
  verifyCached(token: string): AccessTokenClaims | undefined;
}

// RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`"${name}" must be a positive integer`);
  return value;
}

function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== "string" || value === "") throw new TypeError(`"${name}" must be a non-empty string`);
  return value;
}

function scopeString(scope: string | readonly string[]): string {
  const list = typeof scope === "string" ? scope.split(" ") : scope;
  for (const s of list) if (typeof s !== "string" || !SCOPE_TOKEN.test(s)) throw new TypeError(`"scope" has an invalid scope token`);
  return list.join(" ");
}

export function createAccessTokenIssuer(options: AccessTokenIssuerOptions): AccessTokenIssuer {
  const { keyRing } = options;
  const issuer = nonEmptyString("issuer", options.issuer);
  const audience = nonEmptyString("audience", options.audience);
  const lifetime = positiveInteger("lifetime", options.lifetime ?? 600);
  const clientId = nonEmptyString("clientId", options.clientId ?? RAMPART_CLIENT_ID);
  const clock = options.clock ?? Date.now;

  return {
    async issue(input) {
      const sub = nonEmptyString("sub", input.sub);
      if (!Array.isArray(input.roles) || !input.roles.every((r) => typeof r === "string")) {
        throw new TypeError(`"roles" must be an array of strings`);
      }
      const iat = Math.floor(clock() / 1000);
      const claims: AccessTokenClaims = {
        iss: issuer,
        aud: audience,
        sub,
        iat,
        nbf: iat,
        exp: iat + lifetime,
        jti: randomBytes(16).toString("base64url"),
        client_id: input.clientId === undefined ? clientId : nonEmptyString("clientId", input.clientId),
        roles: [...input.roles],
        ...(input.sid === undefined ? {} : { sid: nonEmptyString("sid", input.sid) }),
        ...(input.scope === undefined ? {} : { scope: scopeString(input.scope) }),
      };
      const key = keyRing.active;
      const token = await new SignJWT(claims as unknown as JWTPayload)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "at+jwt" })
        .sign(key.signingKey);
      return { token, claims, expiresIn: lifetime };
    },
  };
}

/** The compact JWS's signature against its signing input (the prechecks guaranteed three segments). */
function signatureHolds(token: string, check: SignatureCheck): boolean {
  const dot = token.lastIndexOf(".");
  const segment = token.slice(dot + 1);
  const signature = Buffer.from(segment, "base64url");
  // Decoding ignores the unused low bits of the last character, so 16 spellings of one signature would
  // verify (a token "tampered" in its last character would still pass): only the canonical one counts.
  if (signature.toString("base64url") !== segment) return false;
  try {
    return check(token.slice(0, dot), signature);
  } catch {
    return false;
  }
}

/** The payload's shape beyond the registered claims, copied into a frozen object the cache can share. */
function toClaims(p: JWTPayload): AccessTokenClaims {
  const roles = p.roles;
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === "string")) throw invalidToken("roles claim malformed");
  for (const name of ["sub", "jti", "client_id"] as const) {
    if (typeof p[name] !== "string" || p[name] === "") throw invalidToken(`${name} claim malformed`);
  }
  for (const name of ["sid", "scope"] as const) {
    if (p[name] !== undefined && typeof p[name] !== "string") throw invalidToken(`${name} claim malformed`);
  }
  const claims = {
    iss: p.iss as string,
    aud: Array.isArray(p.aud) ? Object.freeze([...p.aud]) : (p.aud as string),
    sub: p.sub as string,
    iat: p.iat as number,
    nbf: (p.nbf ?? p.iat) as number,
    exp: p.exp as number,
    jti: p.jti as string,
    client_id: p.client_id as string,
    roles: Object.freeze([...(roles as string[])]),
    ...(p.sid === undefined ? {} : { sid: p.sid as string }),
    ...(p.scope === undefined ? {} : { scope: p.scope as string }),
  };
  return Object.freeze(claims);
}

export function createAccessTokenVerifier(options: AccessTokenVerifierOptions): AccessTokenVerifier {
  const { keyRing } = options;
  const issuer = nonEmptyString("issuer", options.issuer);
  const audience = typeof options.audience === "string" ? nonEmptyString("audience", options.audience) : [...options.audience];
  const clockTolerance = options.clockTolerance ?? 5;
  if (!Number.isSafeInteger(clockTolerance) || clockTolerance < 0) throw new TypeError(`"clockTolerance" must be a non-negative integer`);
  const precheck = { keyRing, maxLength: positiveInteger("maxLength", options.maxLength ?? 4096), headers: createHeaderMemo() };
  const cache = createTokenCache<AccessTokenClaims>(options.cacheSize ?? 10_000);
  const clock = options.clock ?? Date.now;

  const verifyCached = (token: string): AccessTokenClaims | undefined =>
    typeof token === "string" ? cache.get(token, clock()) : undefined;

  function verifyNow(token: unknown): AccessTokenClaims {
    const hit = verifyCached(token as string);
    if (hit !== undefined) return hit;
    const now = clock();
    const { key, payload, headerSegment, header } = readAccessToken(token, now / 1000, precheck);
    if (!signatureHolds(token as string, key.checkSignature)) throw invalidToken("bad signature");
    checkRegisteredClaims(payload, now / 1000, { issuer, audience, clockTolerance });
    // The rules check exp and nbf, and that iat is a number, but not that iat lies in the past: a token
    // "issued" ahead of time (a stolen key used to mint tokens that outlive a rotation or revocation,
    // or an issuer with a broken clock) is refused beyond the same tolerance as exp/nbf.
    if ((payload.iat as number) > now / 1000 + clockTolerance) throw invalidToken("issued in the future");
    const claims = toClaims(payload);
    precheck.headers.remember(headerSegment, header);
    cache.set(token as string, claims, claims.exp * 1000, clock());
    return claims;
  }

  return {
    verifyCached,
    verifyNow,
    verify: async (token) => verifyNow(token),
  };
}
