/**
 * The one catalogue of Rampart's errors. Each code maps to an HTTP status, a short human title and a
 * stable problem `type` URI. Codes are never reused.
 *
 * Only `core/problems.ts` renders these into problem+json. Detail meant for operators (`reason`,
 * the original `cause`) goes to the log, never to the client.
 */

export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

export const ERRORS = {
  RAMPART_ERR_BAD_REQUEST: { status: 400, title: "Bad request" },
  RAMPART_ERR_MALFORMED_JSON: { status: 400, title: "Malformed JSON body" },
  RAMPART_ERR_VALIDATION: { status: 400, title: "Request validation failed" },
  RAMPART_ERR_WEAK_PASSWORD: { status: 400, title: "Password not acceptable" },
  RAMPART_ERR_HOST_NOT_ALLOWED: { status: 400, title: "Host not allowed" },
  RAMPART_ERR_AMBIGUOUS_PATH: { status: 400, title: "Ambiguous request path" },
  RAMPART_ERR_UPGRADE_REFUSED: { status: 400, title: "Protocol upgrade refused" },
  RAMPART_ERR_UNAUTHENTICATED: { status: 401, title: "Authentication required" },
  RAMPART_ERR_INVALID_TOKEN: { status: 401, title: "Invalid or expired credentials" },
  RAMPART_ERR_INVALID_CREDENTIALS: { status: 401, title: "Invalid email or password" },
  RAMPART_ERR_REFRESH_REUSED: { status: 401, title: "Invalid or expired credentials" },
  RAMPART_ERR_HTTPS_REQUIRED: { status: 403, title: "HTTPS required" },
  RAMPART_ERR_FORBIDDEN: { status: 403, title: "Forbidden" },
  RAMPART_ERR_INSUFFICIENT_SCOPE: { status: 403, title: "Insufficient scope" },
  RAMPART_ERR_CSRF: { status: 403, title: "CSRF check failed" },
  RAMPART_ERR_REGISTRATION_CLOSED: { status: 403, title: "Registration is closed" },
  RAMPART_ERR_NOT_FOUND: { status: 404, title: "Not found" },
  RAMPART_ERR_METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed" },
  RAMPART_ERR_NOT_ACCEPTABLE: { status: 406, title: "Not acceptable" },
  RAMPART_ERR_REQUEST_TIMEOUT: { status: 408, title: "Request timeout" },
  RAMPART_ERR_CONFLICT: { status: 409, title: "Conflict" },
  RAMPART_ERR_BODY_TOO_LARGE: { status: 413, title: "Request body too large" },
  RAMPART_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "Unsupported media type" },
  RAMPART_ERR_RATE_LIMITED: { status: 429, title: "Too many requests" },
  RAMPART_ERR_LOGIN_THROTTLED: { status: 429, title: "Too many login attempts" },
  RAMPART_ERR_HEADERS_TOO_LARGE: { status: 431, title: "Request header fields too large" },
  RAMPART_ERR_INTERNAL: { status: 500, title: "Internal server error" },
  RAMPART_ERR_BAD_GATEWAY: { status: 502, title: "Bad gateway" },
  RAMPART_ERR_STORE_UNAVAILABLE: { status: 503, title: "Service unavailable" },
  RAMPART_ERR_SHUTTING_DOWN: { status: 503, title: "Service unavailable" },
  RAMPART_ERR_GATEWAY_TIMEOUT: { status: 504, title: "Gateway timeout" },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** Problem `type` URI for a code: stable, documented, never pointing at internals. */
export function problemType(code: ErrorCode): string {
  return `https://rampart.dev/problems/${code.replace(/^RAMPART_ERR_/, "").toLowerCase().replaceAll("_", "-")}`;
}

export interface RampartErrorOptions {
  /** Client-safe explanation. Falls back to the catalogue title. */
  detail?: string;
  /** Operator-only explanation (claim name, limit key…): logged, never sent. */
  reason?: string;
  /** Extra problem+json members that are safe to show (e.g. `errors`, `policy`). */
  extensions?: Record<string, unknown>;
  /** Response headers that belong with this error (`WWW-Authenticate`, `Retry-After`, `Allow`). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class RampartError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly reason: string | undefined;
  readonly extensions: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, options: RampartErrorOptions = {}) {
    super(options.reason ?? options.detail ?? ERRORS[code].title, { cause: options.cause });
    this.name = "RampartError";
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = options.detail ?? ERRORS[code].title;
    this.reason = options.reason;
    this.extensions = options.extensions;
    this.headers = options.headers;
  }
}

export function isRampartError(value: unknown): value is RampartError {
  return value instanceof RampartError;
}
