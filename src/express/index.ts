/**
 * `rampart/express`: Rampart's pipeline for Express 5 (and 4), the same stages and engines as the
 * Fastify plugin, with no security decision of its own. See rampart.ts for the shape, guard.ts for
 * route declarations, deny-by-default.ts and unguarded.ts for how a route that declares nothing
 * refuses anonymous callers.
 *
 * @example
 * import express from "express";
 * import { createRampart } from "rampart/express";
 * const app = express();
 * const rampart = await createRampart({ dataDir: "./data", roles: { reader: ["items:read"] } });
 * app.use(rampart.pipeline);
 * app.use(rampart.json());
 * app.get("/api/items", rampart.route({ permissions: ["items:read"] }), (req, res) => res.json({ items: [] }));
 * app.get("/status", rampart.route({ auth: "public" }), (req, res) => res.json({ ok: true }));
 * app.use(rampart.errors);
 */
import "./request-augment.ts";

export { createRampart, type ExpressRampart, type ExpressRampartOptions } from "./rampart.ts";
export { RampartOptionsError, type RampartOptions, type RampartSettings } from "../library/options.ts";
export type { CredentialKind, Principal, RequestState, RouteLimit, RouteSecurity } from "../http/request-state.ts";
export { RouteDeclarationError } from "../http/route-security.ts";
export { type ErrorCode, RampartError } from "../core/errors.ts";
export { authorizeObject, can, type OwnedResource, type PermissionSet } from "../core/authz/index.ts";
export type { VerifyOptions } from "../verify/layer.ts";
