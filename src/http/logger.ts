/**
 * JSON logs (pino), pretty in development. Credentials never reach a log line: request headers are not
 * logged at all except a safe few, and every path where a secret could sit is redacted as defence in
 * depth (a future log call that passes a body or headers still cannot leak one).
 */
import pino, { type DestinationStream, type Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";

export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-csrf-token"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  "headers.authorization",
  "headers.cookie",
  "*.password",
  "*.current_password",
  "*.new_password",
  "*.passwordHash",
  "*.password_hash",
  "*.token",
  "*.access_token",
  "*.refresh_token",
  "*.secret",
  "*.hs256Secret",
  "body.password",
  "body.refresh_token",
];

const SENSITIVE_QUERY = /([?&](?:access_token|token|refresh_token|password|code|key|secret)=)[^&#]*/gi;

/** Query-string credentials (a client mistake we still must not record). */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(SENSITIVE_QUERY, "$1[redacted]");
}

export function createLogger(config: ResolvedConfig, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level: config.logging.level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    base: { service: "rampart" },
    serializers: {
      req(req) {
        return {
          method: req.method,
          url: redactUrl(req.url),
          ip: req.rampart?.client?.ip ?? req.ip,
          userAgent: req.headers?.["user-agent"],
        };
      },
      res(res) {
        return { statusCode: res.statusCode };
      },
      err: pino.stdSerializers.err,
    },
  };
  if (destination) return pino(options, destination);
  if (config.logging.pretty) return pino({ ...options, transport: { target: "pino-pretty", options: { colorize: true } } });
  return pino(options);
}
