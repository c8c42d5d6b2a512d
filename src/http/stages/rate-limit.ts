/**
 * Stages 4 and 7, rate limits: a thin adapter over core/ratelimit. Stage 4 runs before authentication
 * and keys by client IP (trusted-proxy aware, IPv6 grouped by prefix): every route's per-IP policies
 * plus the route's own IP-keyed ones (login, register). Stage 7 keys by principal (user or API token).
 * Each stage decides all of its stacked limits in one store call. Route policies are compiled when the
 * route is registered, so a bad policy stops start-up and names the route.
 */
import type { FastifyReply, FastifyRequest, RouteOptions } from "fastify";
import type { ResolvedConfig } from "../../config/resolve.ts";
import {
  clientKey,
  createRateLimiter,
  type LimitRequest,
  parsePolicy,
  principalKey,
  type RateLimiter,
  type RateLimitOutcome,
  type RateLimitPolicy,
  type RateLimitStore,
  rateLimitedError,
  rateLimitPolicyHeader,
  scopedKey,
} from "../../core/ratelimit/index.ts";

interface CompiledSide {
  /** Policies keyed by the bare identity (defaults). */
  shared: readonly RateLimitPolicy[];
  /** Policies scoped to this route. */
  scoped: readonly RateLimitPolicy[];
  header: string;
}

interface CompiledRoute {
  client: CompiledSide;
  principal: CompiledSide | undefined;
  routeId: string;
}

const GROUPS = ["perIp", "perPrincipal", "login", "register"] as const;
type Group = (typeof GROUPS)[number];

export function policiesOf(config: ResolvedConfig, group: Group, name: string): RateLimitPolicy[] {
  return config.rateLimit[group].map((spec, index) => parsePolicy(index === 0 ? name : `${name}-${index + 1}`, spec));
}

export function createRateLimitStages(config: ResolvedConfig, store: RateLimitStore) {
  const limiter: RateLimiter = createRateLimiter({ store });
  const perIp = policiesOf(config, "perIp", "ip");
  const perPrincipal = policiesOf(config, "perPrincipal", "user");
  const routes = new Map<string, CompiledRoute>();
  const keyOptions = { ipv6Prefix: config.rateLimit.ipv6Prefix };

  function side(shared: RateLimitPolicy[], scoped: RateLimitPolicy[]): CompiledSide {
    return { shared, scoped, header: rateLimitPolicyHeader([...shared, ...scoped]) };
  }

  function compile(route: RouteOptions): void {
    const security = route.config?.rampart;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const routeId = `${methods.join(",")} ${route.url}`;
    const ipScoped: RateLimitPolicy[] = [];
    const principalScoped: RateLimitPolicy[] = [];
    try {
      for (const limit of security?.limits || []) {
        const target = limit.key === "principal" ? principalScoped : ipScoped;
        const group = GROUPS.find((g) => g === limit.policy);
        if (group) target.push(...policiesOf(config, group, group));
        else target.push(parsePolicy(`route-${target.length + 1}`, limit.policy));
      }
      const compiled: CompiledRoute = {
        routeId,
        client: side(security?.limits === false ? [] : perIp, ipScoped),
        principal: security?.auth === "public" && principalScoped.length === 0 ? undefined : side(perPrincipal, principalScoped),
      };
      for (const method of methods) routes.set(`${method} ${route.url}`, compiled);
    } catch (error) {
      throw new Error(`route ${routeId}: invalid rate limit: ${(error as Error).message}`);
    }
  }

  function requestsFor(compiled: CompiledSide, key: string, routeId: string): LimitRequest[] {
    const requests: LimitRequest[] = compiled.shared.map((policy) => ({ key, policy }));
    for (const policy of compiled.scoped) requests.push({ key: scopedKey(key, routeId), policy });
    return requests;
  }

  function apply(reply: FastifyReply, outcome: RateLimitOutcome): boolean {
    if (!outcome.allowed) throw rateLimitedError(outcome);
    reply.headers(outcome.headers);
    return true;
  }

  function run(compiled: CompiledSide | undefined, key: string | undefined, routeId: string, reply: FastifyReply) {
    if (!compiled || !key || compiled.shared.length + compiled.scoped.length === 0) return true;
    const outcome = limiter.check(requestsFor(compiled, key, routeId), compiled.header);
    return outcome instanceof Promise ? outcome.then((o) => apply(reply, o)) : apply(reply, outcome as RateLimitOutcome);
  }

  // Requests matching no route (on their way to a 404) still count against the per-IP limit.
  const unmatched = perIp.length ? side(perIp, []) : undefined;
  const lookup = (request: FastifyRequest) => routes.get(`${request.method} ${request.routeOptions.url}`);

  return {
    onRoute: compile,
    limitClient(request: FastifyRequest, reply: FastifyReply) {
      const compiled = lookup(request);
      const client = compiled?.client ?? unmatched;
      return run(client, clientKey(request.rampart.client.ip, keyOptions), compiled?.routeId ?? "unmatched", reply);
    },
    limitPrincipal(request: FastifyRequest, reply: FastifyReply) {
      const principal = request.rampart.principal;
      if (!principal) return true;
      const compiled = lookup(request);
      const key = principalKey(principal.via === "api-token" ? `t:${principal.credentialId}` : `u:${principal.userId}`);
      return run(compiled?.principal, key, compiled?.routeId ?? "unmatched", reply);
    },
  };
}
