/**
 * OAuth 2.0 error responses (RFC 6749 §5.2): `{error, error_description}` as application/json, the
 * wire format OAuth clients parse on the token, introspection and revocation endpoints. Kept apart from
 * the RAMPART_ERR_* catalogue on purpose: these codes are fixed by the RFCs, not ours to number, and
 * they are rendered only on the /oauth endpoints.
 */

/** Each code with its status: `invalid_client` is 401 (with a `WWW-Authenticate: Basic` challenge). */
export const OAUTH_ERRORS = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
} as const;

export type OAuthErrorCode = keyof typeof OAUTH_ERRORS;

export const BASIC_CHALLENGE = 'Basic realm="rampart"';

export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly status: number;
  /** Client-safe, sent as `error_description`. */
  readonly description: string;
  /** Operator-only detail for the log. */
  readonly reason: string | undefined;

  constructor(code: OAuthErrorCode, description: string, reason?: string) {
    super(reason ?? description);
    this.name = "OAuthError";
    this.code = code;
    this.status = OAUTH_ERRORS[code];
    this.description = description;
    this.reason = reason;
  }
}

/** The response headers of an OAuth error: never cached (§5.1), and the Basic challenge on 401 (§5.2). */
export function oauthErrorHeaders(error: OAuthError): Record<string, string> {
  return {
    "cache-control": "no-store",
    pragma: "no-cache",
    ...(error.code === "invalid_client" ? { "www-authenticate": BASIC_CHALLENGE } : {}),
  };
}

export function oauthErrorBody(error: OAuthError): { error: OAuthErrorCode; error_description: string } {
  return { error: error.code, error_description: error.description };
}
