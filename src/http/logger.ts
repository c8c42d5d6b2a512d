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

/**
 * Fastify's per-request child logger, built only when something is actually logged at an enabled
 * level. Building one eagerly (bindings, redaction) costs microseconds on every request, most of which
 * never log anything. A class, so a request allocates one small object and no closures.
 */
class LazyRequestLogger {
  #parent: Logger;
  #bindings: pino.Bindings;
  #options: pino.ChildLoggerOptions;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: pino.Bindings, options: pino.ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #materialise(): Logger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options);
    return this.#child;
  }

  #log(level: pino.Level, args: unknown[]): void {
    if (!this.#parent.isLevelEnabled(level)) return;
    (this.#materialise()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.#child?.level ?? this.#parent.level;
  }
  set level(value: string) {
    this.#materialise().level = value;
  }
  isLevelEnabled(level: string): boolean {
    return this.#parent.isLevelEnabled(level);
  }
  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): Logger {
    return this.#materialise().child(bindings, options);
  }
  fatal(...args: unknown[]) {
    this.#log("fatal", args);
  }
  error(...args: unknown[]) {
    this.#log("error", args);
  }
  warn(...args: unknown[]) {
    this.#log("warn", args);
  }
  info(...args: unknown[]) {
    this.#log("info", args);
  }
  debug(...args: unknown[]) {
    this.#log("debug", args);
  }
  trace(...args: unknown[]) {
    this.#log("trace", args);
  }
  silent() {}
}

export function lazyChildLoggerFactory(logger: Logger, bindings: pino.Bindings, options: pino.ChildLoggerOptions): Logger {
  return new LazyRequestLogger(logger, bindings, options) as unknown as Logger;
}
