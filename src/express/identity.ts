/**
 * The identity routes on Express, as a router: not a second implementation, but the reference server's
 * own Fastify application (`buildApp`) with the plugin's recipe (`protectOptions`,
 * `registerIdentityRoutes`) on the same layer, never listening. `rampart.pipeline` hands it the
 * requests that match one of its routes before any Express-side stage runs, so each request meets
 * Rampart's pipeline exactly once, and every limit is counted once.
 */
import type { Request, Response } from "express";
import type { Logger } from "pino";
import { buildApp } from "../http/app.ts";
import { HTTP_METHODS } from "../http/protect.ts";
import { protectOptions, registerIdentityRoutes } from "../library/assemble.ts";
import type { ParsedOptions } from "../library/options.ts";
import type { ProtectionLayer } from "../server/layers.ts";

export interface IdentityRouter {
  /** Whether one of the identity, admin or operations routes answers this method and path. */
  matches(method: string, path: string): boolean;
  /** The methods those routes answer at this path other than `method` (for a 405). */
  allowedMethods(method: string, path: string): string[];
  handle(req: Request, res: Response): void;
  close(): Promise<void>;
}

/** A route pattern (`/admin/users/:id`) as a matcher with Fastify's defaults here: case-sensitive, no trailing-slash folding. */
function patternOf(url: string): RegExp {
  const segments = url.split("/").map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  return new RegExp(`^${segments.join("/")}$`);
}

export async function openIdentityRouter(parsed: ParsedOptions, layer: ProtectionLayer, logger: Logger): Promise<IdentityRouter | undefined> {
  if (parsed.identity === false) return undefined;
  const internal = await buildApp({
    logger,
    ...protectOptions(parsed, layer),
    routes: (scope) => registerIdentityRoutes(scope, parsed, layer),
  });
  await internal.ready();
  const routes = new Map<string, RegExp[]>();
  for (const { method, url } of internal.rampartRoutes()) {
    if (url === "*") continue; // @fastify/cors's OPTIONS * (preflights are answered on the Express side)
    for (const verb of method === "GET" ? ["GET", "HEAD"] : [method]) routes.set(verb, [...(routes.get(verb) ?? []), patternOf(url)]);
  }
  const matches = (method: string, path: string) => routes.get(method)?.some((pattern) => pattern.test(path)) ?? false;

  return {
    matches,
    allowedMethods: (method, path) => HTTP_METHODS.filter((m) => m !== method && m !== "OPTIONS" && matches(m, path)),
    handle: (req, res) => internal.routing(req, res),
    close: () => internal.close(),
  };
}
