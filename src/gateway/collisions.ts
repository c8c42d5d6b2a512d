/**
 * A policy rule must never share a path with the gateway's own routes (identity, admin, operations):
 * one of the two would silently win. Each gateway route is looked up, with a sample value for each
 * parameter, in a router holding only the rules (Fastify's own router, find-my-way, so the matching
 * is the gateway's); any match stops start-up naming the rule and the route, and the fix.
 */
import FindMyWay from "find-my-way";
import type { CompiledRule } from "./policy.ts";

export interface GatewayRoute {
  method: string;
  url: string;
}

export function findCollisions(rules: readonly CompiledRule[], routes: readonly GatewayRoute[]): string[] {
  const router = FindMyWay({ caseSensitive: true, ignoreTrailingSlash: false });
  for (const rule of rules) {
    for (const method of rule.methods) router.on(method as "GET", rule.path, () => {}, { index: rule.index });
  }
  const problems: string[] = [];
  for (const route of routes) {
    const sample = route.url.replace(/:[^/]+/g, "sample").replace(/\*$/, "sample");
    const found = router.find(route.method as "GET", sample);
    if (found) {
      const rule = rules[(found.store as { index: number }).index];
      problems.push(
        `/routes/${rule?.index}: "${route.method} ${rule?.path}" covers the gateway's own route ${route.method} ${route.url}; set gateway.prefix (e.g. "/_rampart") to move the gateway's routes, or narrow the rule`,
      );
    }
  }
  return problems;
}
