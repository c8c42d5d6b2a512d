/**
 * The `rampart` package: the Fastify plugin and its types. The framework-free engines are in
 * `rampart/core`, the Express adapter in `rampart/express`.
 *
 * @example
 * import Fastify from "fastify";
 * import rampart from "rampart";
 * const app = Fastify();
 * await app.register(rampart, { dataDir: "./data", roles: { reader: ["items:read"] } });
 * app.get("/api/items", { config: { rampart: { permissions: ["items:read"] } } }, async (request) => ({
 *   user: request.rampart.principal?.userId,
 * }));
 */
import { rampart } from "./library/fastify-plugin.ts";
import "./http/request-state.ts";

export default rampart;
export { rampart };
export { type ParsedOptions, RampartOptionsError, type RampartOptions, type RampartSettings } from "./library/options.ts";
export type { CredentialKind, Principal, RequestState, RouteLimit, RouteSecurity } from "./http/request-state.ts";
export { RouteDeclarationError } from "./http/route-security.ts";
export { type ErrorCode, RampartError } from "./core/errors.ts";
export { rampartFrameworkErrors } from "./http/framework-errors.ts";
export { rampartServerOptions } from "./http/server-limits.ts";
export { authorizeObject, can, type OwnedResource, type PermissionSet } from "./core/authz/index.ts";
export type { VerifyOptions } from "./verify/layer.ts";
