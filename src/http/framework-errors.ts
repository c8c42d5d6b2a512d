/**
 * Errors Fastify raises before routing: a path that does not percent-decode (`/api/notes/%ff%fe`, the
 * overlong `%c0%ae`: FST_ERR_BAD_URL), a path parameter over `maxParamLength` (FST_ERR_MAX_PARAM_LENGTH)
 * and a failing async route constraint (FST_ERR_ASYNC_CONSTRAINT). No hook runs for them, so without
 * Fastify's `frameworkErrors` constructor option Fastify writes its own JSON body naming its internal
 * code, with no X-Request-Id and none of the security headers.
 *
 * `rampartFrameworkErrors` is that option. A constructor option cannot be set by a plugin, so the
 * function is config-free: `protectPlugin` stores a responder built from its config on the instance
 * (`installFrameworkErrors`), and the option finds it through `request.server`. The responder runs the
 * transport and headers stages exactly as the pipeline would (client and scheme, X-Request-Id, HTTPS
 * enforcement, Host check, the header set with HSTS on HTTPS), then sends the problem. The reference
 * server and the gateway pass it in `buildApp`; a library user passes it to `Fastify()` and the plugin
 * warns at registration when the application did not.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ResolvedConfig } from "../config/resolve.ts";
import { PROBLEM_CONTENT_TYPE, toProblem } from "../core/problems.ts";
import { logRequestError, toRampartError } from "./errors.ts";
import type { PipelineRequest } from "./stage-io.ts";
import { captureHelmetHeaders, createHeadersStage } from "./stages/headers.ts";
import { createTransportStage } from "./stages/transport.ts";

type FrameworkErrorResponder = (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void;

/** Where protectPlugin leaves the configured responder on the Fastify instance. */
const RESPONDER = Symbol("rampart.frameworkErrors");

// Used only when Rampart is not registered on the instance the request reached (or in a nested scope):
// still problem+json with the API header set, never Fastify's body.
const FALLBACK_HEADERS: Readonly<Record<string, string>> = Object.freeze({ ...captureHelmetHeaders(), "cache-control": "no-store" });

function send(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const problem = toRampartError(error);
  logRequestError(request.log ?? reply.log, problem);
  if (problem.headers) reply.headers(problem.headers);
  reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(toProblem(problem, String(request.id)));
}

export function createFrameworkErrorResponder(config: ResolvedConfig, isClosing?: () => boolean): FrameworkErrorResponder {
  const transport = createTransportStage(config, isClosing);
  const headers = createHeadersStage(config);
  return function respondToFrameworkError(error, request, reply) {
    const req = request as unknown as PipelineRequest;
    let failure: unknown = error;
    try {
      // false: the transport stage answered itself (the configured 308 to HTTPS).
      if (!transport(req, reply)) return;
    } catch (refusal) {
      // Refused before the URL mattered (plain HTTP in production, a Host not allowed): that answer wins,
      // as it would for any other request.
      failure = refusal;
    }
    if (req.rampart) headers(req, reply);
    send(failure as Error, request, reply);
  };
}

/** Called by protectPlugin: the responder `rampartFrameworkErrors` dispatches to for this instance. */
export function installFrameworkErrors(app: FastifyInstance, responder: FrameworkErrorResponder): void {
  (app as unknown as Record<symbol, unknown>)[RESPONDER] = responder;
}

/**
 * Fastify's `frameworkErrors` option: problem+json with X-Request-Id and the security headers for
 * errors raised before routing.
 *
 * @example
 * import Fastify from "fastify";
 * import rampart, { rampartFrameworkErrors } from "rampart";
 * const app = Fastify({ frameworkErrors: rampartFrameworkErrors });
 * await app.register(rampart, { dataDir: "./data" });
 */
export function rampartFrameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const responder = (request.server as unknown as Record<symbol, FrameworkErrorResponder | undefined>)[RESPONDER];
  if (responder) {
    responder(error, request, reply);
    return;
  }
  reply.headers({ ...FALLBACK_HEADERS, "x-request-id": String(request.id) });
  send(error, request, reply);
}

/**
 * Whether the instance was constructed with a `frameworkErrors` option. Fastify keeps its constructor
 * options only behind an internal symbol (`fastify.options`); `undefined` when that cannot be read.
 */
export function hasFrameworkErrorsOption(app: FastifyInstance): boolean | undefined {
  // An encapsulated scope is an Object.create() of its parent: the symbol is an own key of the root only.
  for (let scope: object | null = app; scope !== null; scope = Object.getPrototypeOf(scope)) {
    const key = Object.getOwnPropertySymbols(scope).find((symbol) => symbol.description === "fastify.options");
    if (key === undefined) continue;
    const options = (scope as Record<symbol, { frameworkErrors?: unknown } | undefined>)[key];
    return typeof options?.frameworkErrors === "function";
  }
  return undefined;
}
