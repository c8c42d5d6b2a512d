/**
 * Every error a request can meet, turned into a RampartError: ours pass through; Fastify's parser and
 * validation errors get their own codes; anything else is an internal error whose message stays in the
 * log. Ajv messages are rewritten into our own words so no library text reaches a client.
 */
import type { FastifyError } from "fastify";
import type { BaseLogger } from "pino";
import sjson from "secure-json-parse";
import { RampartError } from "../core/errors.ts";

interface AjvIssue {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const PARSER_ERRORS: Record<string, () => RampartError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new RampartError("RAMPART_ERR_BODY_TOO_LARGE"),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new RampartError("RAMPART_ERR_UNSUPPORTED_MEDIA_TYPE", { detail: "Request bodies must be sent as Content-Type: application/json." }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new RampartError("RAMPART_ERR_BAD_REQUEST", { detail: "Content-Length does not match the body." }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () =>
    new RampartError("RAMPART_ERR_MALFORMED_JSON", { detail: "Content-Type is application/json but the body is empty." }),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new RampartError("RAMPART_ERR_MALFORMED_JSON", { detail: "The body is not valid JSON." }),
  FST_ERR_BAD_URL: () => new RampartError("RAMPART_ERR_BAD_REQUEST", { detail: "The request URL is malformed." }),
};

export function toRampartError(error: unknown): RampartError {
  if (error instanceof RampartError) return error;
  const fastifyError = error as FastifyError & { validation?: AjvIssue[]; validationContext?: string };
  if (Array.isArray(fastifyError.validation)) return validationError(fastifyError.validation, fastifyError.validationContext);
  const mapped = fastifyError.code ? PARSER_ERRORS[fastifyError.code] : undefined;
  if (mapped) return withCause(mapped(), error);
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new RampartError("RAMPART_ERR_MALFORMED_JSON", { detail: "The body is not valid JSON.", cause: error });
  }
  if (fastifyError.statusCode === 406) return new RampartError("RAMPART_ERR_NOT_ACCEPTABLE", { cause: error });
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new RampartError("RAMPART_ERR_BAD_REQUEST", { cause: error });
  }
  return new RampartError("RAMPART_ERR_INTERNAL", {
    detail: "The server could not complete the request. Quote the requestId when reporting it.",
    cause: error,
  });
}

/** The log line for an error on its way to the client: 5xx with the real cause, the rest at info. */
export function logRequestError(log: Pick<BaseLogger, "info" | "error">, error: RampartError): void {
  if (error.status >= 500) log.error({ err: error.cause ?? error, code: error.code, reason: error.reason }, "request failed");
  else log.info({ code: error.code, reason: error.reason }, error.detail);
}

function withCause(error: RampartError, cause: unknown): RampartError {
  Object.defineProperty(error, "cause", { value: cause, enumerable: false });
  return error;
}

/**
 * The JSON body parser: secure-json-parse refuses `__proto__` and `constructor.prototype` keys
 * (prototype poisoning), and each failure gets its own clear problem. An empty body is no body: many
 * clients send `Content-Type: application/json` on every POST, also to routes that take none
 * (`POST /auth/mfa/totp`); a route that needs a body still refuses it when its schema is checked.
 */
export function parseJsonBody(_request: unknown, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) {
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (text.trim() === "") {
    done(null, undefined);
    return;
  }
  try {
    done(null, sjson.parse(text, null, { protoAction: "error", constructorAction: "error" }));
  } catch (error) {
    const poisoned = /prototype/i.test((error as Error).message);
    done(
      new RampartError("RAMPART_ERR_MALFORMED_JSON", {
        detail: poisoned ? "The body contains a forbidden key (__proto__ or constructor.prototype)." : "The body is not valid JSON.",
        cause: error,
      }),
    );
  }
}

const PART_PREFIX: Record<string, string> = { body: "", querystring: "/query", params: "/params", headers: "/headers" };

export function validationError(issues: AjvIssue[], context = "body"): RampartError {
  const prefix = PART_PREFIX[context] ?? "";
  const errors = issues.map((issue) => describeIssue(issue, prefix));
  const first = errors[0];
  return new RampartError("RAMPART_ERR_VALIDATION", {
    detail: first ? `${first.pointer || "/"}: ${first.detail}` : "The request does not match the schema.",
    extensions: { errors },
  });
}

function describeIssue(issue: AjvIssue, prefix: string): { pointer: string; detail: string } {
  const at = `${prefix}${issue.instancePath}`;
  const p = issue.params;
  switch (issue.keyword) {
    case "additionalProperties":
      return { pointer: `${at}/${escapePointer(String(p.additionalProperty))}`, detail: "unknown field; it is not accepted here" };
    case "required":
      return { pointer: `${at}/${escapePointer(String(p.missingProperty))}`, detail: "is required" };
    case "type":
      return { pointer: at, detail: `must be of type ${p.type}` };
    case "minLength":
      return { pointer: at, detail: `must be at least ${p.limit} characters long` };
    case "maxLength":
      return { pointer: at, detail: `must be at most ${p.limit} characters long` };
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return { pointer: at, detail: `must be ${p.comparison} ${p.limit}` };
    case "minItems":
      return { pointer: at, detail: `must have at least ${p.limit} items` };
    case "maxItems":
      return { pointer: at, detail: `must have at most ${p.limit} items` };
    case "enum":
      return { pointer: at, detail: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}` };
    case "const":
      return { pointer: at, detail: `must be ${JSON.stringify(p.allowedValue)}` };
    case "format":
      return { pointer: at, detail: `must be a valid ${p.format}` };
    case "pattern":
      return { pointer: at, detail: "has an invalid format" };
    case "minProperties":
      return { pointer: at, detail: `must have at least ${p.limit} field${p.limit === 1 ? "" : "s"}` };
    case "uniqueItems":
      return { pointer: at, detail: "must not contain duplicate items" };
    default:
      return { pointer: at, detail: "is not valid" };
  }
}

/** JSON Pointer escaping (RFC 6901 §3). */
function escapePointer(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}
