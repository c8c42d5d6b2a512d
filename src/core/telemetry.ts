/**
 * What the engines and identity flows report for the operator's view, as plain function calls: they call
 * these and never see a metrics library. `NO_TELEMETRY` ignores everything (CLI commands, a context
 * opened without an app); src/http/telemetry.ts records into the app's Prometheus registry.
 *
 * Every argument comes from a small fixed set. Nothing reported here may carry a user id, an email, an
 * address, a token or a key: a label with one value per user would leak them to whoever reads /metrics
 * and grow the registry without bound.
 */

/** Why a sign-in step was refused. One value per kind of credential, plus the back-off. */
export type LoginFailureReason =
  /** Password login: unknown email, wrong password or disabled account (one reason: no enumeration). */
  | "bad_credentials"
  /** Any sign-in step refused by the login back-off before the credential was even checked. */
  | "throttled"
  /** A wrong, expired or spent second-factor code (TOTP or recovery code). */
  | "mfa"
  /** A passkey assertion refused. */
  | "passkey"
  /** An OAuth client-credentials request with a wrong secret. */
  | "client_credentials";

export const LOGIN_FAILURE_REASONS: readonly LoginFailureReason[] = ["bad_credentials", "throttled", "mfa", "passkey", "client_credentials"];

/**
 * Where a revocation entering the local deny list came from: made on this instance, received from
 * another one through the Redis broadcast, or (re)loaded from storage (start-up, catch-up after an outage).
 */
export type RevocationSource = "local" | "broadcast" | "storage";

export const REVOCATION_SOURCES: readonly RevocationSource[] = ["local", "broadcast", "storage"];

export interface Telemetry {
  /** A sign-in step was refused. */
  loginFailure(reason: LoginFailureReason): void;
  /** A spent refresh token was presented again: its whole family was revoked (RFC 9700 §4.14.2). */
  refreshReuseDetected(): void;
  /** `count` revocations (default 1) entered the local deny list from `source`. */
  revocationApplied(source: RevocationSource, count?: number): void;
  /** Seconds between another instance publishing a revocation and this one applying it. */
  broadcastLag(seconds: number): void;
}

/** Records nothing. */
export const NO_TELEMETRY: Telemetry = Object.freeze({
  loginFailure() {},
  refreshReuseDetected() {},
  revocationApplied() {},
  broadcastLag() {},
});
