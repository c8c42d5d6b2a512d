/**
 * Deny by default on Express: a route that declares nothing refuses anonymous callers. Express has no
 * registration hook (Fastify's `onRoute`), so `rampart.pipeline` walks the application's router stack
 * on the first request, and again whenever a stack it walked has changed length (a route or router
 * added later), recursing through mounted `express.Router()`s. For each route, and each of its
 * methods, whose first handler is not a Rampart guard, the default guard (authenticated callers only)
 * is put at the front of that route's stack, so it runs before anything the route does.
 *
 * What the walk cannot see: sub-applications (`app.use(path, express())`, whose stacks Express hides in
 * a closure) and plain `app.use()` middleware that answers requests itself. For those, the second line
 * (unguarded.ts) refuses any success response no guard decided; declare them with
 * `app.use(path, rampart.route({ ... }), middleware)`, or mount `rampart.pipeline` inside the
 * sub-application too (it runs the stages once per request, and walks the sub-application).
 */
import type { Logger } from "pino";
import { type Guard, isGuard } from "./guard.ts";

interface Layer {
  handle: unknown;
  method?: string;
  route?: Route;
  name?: string;
}

interface Route {
  path: unknown;
  stack: Layer[];
  methods: Record<string, boolean | undefined>;
}

type Verb = (handler: Guard) => unknown;

/** An Express 4 or 5 application, as far as the walk needs one. */
interface App {
  _router?: { stack: Layer[] };
  router?: { stack: Layer[] };
  disable?(setting: string): unknown;
}

type Walked = { stack: Layer[]; length: number }[];

export function createDenyByDefault(fallback: Guard, logger: Logger) {
  /** Per application: every stack walked and its length then. State of this Rampart instance, never of the module. */
  const walked = new WeakMap<object, Walked>();
  const warned = new WeakSet<Layer>();

  function protectRoute(route: Route): void {
    const methods = Object.keys(route.methods).filter((method) => route.methods[method]);
    for (const method of methods) {
      // The first handler a request of this method meets; `_all` covers every method not listed.
      const first = route.stack.find((layer) => layer.method === undefined || (method !== "_all" && layer.method === method));
      if (first && isGuard(first.handle)) continue;
      if (route.stack.some((layer) => (layer.method === undefined || layer.method === method) && isGuard(layer.handle))) {
        logger.warn(
          { route: String(route.path), method },
          "rampart.route() is not the first handler of this route: the default guard (authenticated callers only) runs before it; put rampart.route() first",
        );
      }
      const verb = (route as unknown as Record<string, Verb>)[method === "_all" ? "all" : method];
      if (typeof verb !== "function") continue;
      verb.call(route, fallback);
      route.stack.unshift(route.stack.pop() as Layer);
    }
  }

  function walk(stack: Layer[], into: Walked): void {
    for (const layer of stack) {
      if (layer.route) {
        protectRoute(layer.route);
        into.push({ stack: layer.route.stack, length: layer.route.stack.length });
        continue;
      }
      const inner = (layer.handle as { stack?: unknown } | null)?.stack;
      if (typeof layer.handle === "function" && Array.isArray(inner)) walk(inner as Layer[], into);
      else if (layer.name === "mounted_app" && !warned.has(layer)) {
        warned.add(layer);
        logger.warn("a sub-application is mounted: the deny-by-default walk cannot see its routes; mount rampart.pipeline inside it too, or use express.Router()");
      }
    }
    into.push({ stack, length: stack.length });
  }

  /** Cheap when nothing changed: one length comparison per stack walked. */
  return function ensureDenyByDefault(app: object): void {
    const express = app as App;
    const seen = walked.get(express);
    if (seen?.every((entry) => entry.stack.length === entry.length)) return;
    // Express 4 keeps its router in `_router` (its `app.router` throws); Express 5 in `router`.
    const router = express._router ?? express.router;
    if (!router) return;
    if (!seen) express.disable?.("x-powered-by");
    const into: Walked = [];
    walk(router.stack, into);
    walked.set(express, into);
  };
}
