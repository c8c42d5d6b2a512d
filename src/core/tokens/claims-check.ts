/**
 * The registered claims of an access token whose signature has been checked: RFC 7519 §4.1 rules as
 * jose applies them (the reasons keep jose's wording, so logs and tests read the same), with the
 * options Rampart always sets: issuer, audience, clock tolerance, `exp`/`iat`/`jti`/`sub` required.
 */
import { invalidToken } from "./invalid-token.ts";

export interface ClaimsRules {
  readonly issuer: string;
  readonly audience: string | readonly string[];
  /** Seconds. */
  readonly clockTolerance: number;
}

// jose's presence check, in its order: the configured issuer and audience, then the required claims.
const REQUIRED = ["iss", "aud", "sub", "jti", "iat", "exp"] as const;
const TIMES = ["iat", "nbf", "exp"] as const;

/** @throws RampartError INVALID_TOKEN naming the first rule broken. */
export function checkRegisteredClaims(payload: Record<string, unknown>, nowSeconds: number, rules: ClaimsRules): void {
  for (const name of REQUIRED) if (!(name in payload)) throw invalidToken(`missing claim ${name}`);
  if (payload.iss !== rules.issuer) throw invalidToken("iss mismatch");
  if (!audienceMatches(payload.aud, rules.audience)) throw invalidToken("aud mismatch");
  for (const name of TIMES) {
    if (payload[name] !== undefined && (typeof payload[name] !== "number" || !Number.isFinite(payload[name]))) {
      throw invalidToken(`${name} mismatch`);
    }
  }
  // jose compares whole seconds: `now` is floored.
  const now = Math.floor(nowSeconds);
  if (payload.nbf !== undefined && (payload.nbf as number) > now + rules.clockTolerance) throw invalidToken("not yet valid");
  if ((payload.exp as number) <= now - rules.clockTolerance) throw invalidToken("expired");
}

function audienceMatches(claim: unknown, expected: string | readonly string[]): boolean {
  const wanted = typeof expected === "string" ? [expected] : expected;
  if (typeof claim === "string") return wanted.includes(claim);
  return Array.isArray(claim) && claim.some((aud) => typeof aud === "string" && wanted.includes(aud));
}
