/**
 * Stages 4 and 7, rate limits: a thin adapter over core/ratelimit. Stage 4 runs before authentication
 * and keys by client IP (trusted-proxy aware, IPv6 grouped by prefix): every route's per-IP policies
 * plus the route's own IP-keyed ones (login, register). Stage 7 keys by principal (user or API token).
 * Each stage decides all of its stacked limits in one store call. Route policies are compiled when the
 * route is registered, so a bad policy stops start-up and names the route.
 */
import type { PipelineReply, PipelineRequest, RouteDefinition } from "../stage-io.ts";
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
}

interface CompiledRoute {
  client: CompiledSide;
  principal: CompiledSide;
  routeId: string;
  /**
   * Each side's route-scoped policies alone, for an adapter that ran stage 4 before it knew the route
   * and so counted the shared ones already (rampart/express): the route's own limits, counted once.
   */
  own: { client: CompiledSide; principal: CompiledSide };
  /** `RateLimit-Policy` listing every policy of both stages, built once; undefined when none apply. */
  header: string | undefined;
}

const GROUPS = ["perIp", "perPrincipal", "login", "register"] as const;
type Group = (typeof GROUPS)[number];
const NONE: CompiledSide = { shared: [], scoped: [] };

export function policiesOf(config: ResolvedConfig, group: Group, name: string): RateLimitPolicy[] {
  return config.rateLimit[group].map((spec, index) => parsePolicy(index === 0 ? name : `${name}-${index + 1}`, spec));
}

const policiesIn = (side: CompiledSide) => [...side.shared, ...side.scoped];

export function createRateLimitStages(config: ResolvedConfig, store: RateLimitStore) {
  const limiter: RateLimiter = createRateLimiter({ store });
  const perIp = policiesOf(config, "perIp", "ip");
  const perPrincipal = policiesOf(config, "perPrincipal", "user");
  const keyOptions = { ipv6Prefix: config.rateLimit.ipv6Prefix };

  function build(routeId: string, client: CompiledSide, principal: CompiledSide): CompiledRoute {
    const all = [...policiesIn(client), ...policiesIn(principal)];
    const own = { client: { shared: [], scoped: client.scoped }, principal: { shared: [], scoped: principal.scoped } };
    return { routeId, client, principal, own, header: all.length > 0 ? rateLimitPolicyHeader(all) : undefined };
  }

  function compile(route: RouteDefinition): void {
    const security = route.config?.rampart;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const routeId = `${methods.join(",")} ${route.url}`;
    const ipScoped: RateLimitPolicy[] = [];
    const principalScoped: RateLimitPolicy[] = [];
    try {
      for (const declared of security?.limits || []) {
        const limit = typeof declared === "string" ? { policy: declared, key: security?.auth === "public" ? "ip" : "principal" } : declared;
        const target = limit.key === "principal" ? principalScoped : ipScoped;
        const group = GROUPS.find((g) => g === limit.policy);
        if (group) target.push(...policiesOf(config, group, group));
        else target.push(parsePolicy(`route-${target.length + 1}`, limit.policy));
      }
      const compiled =
        security?.limits === false
          ? build(routeId, NONE, NONE)
          : build(
              routeId,
              { shared: perIp, scoped: ipScoped },
              security?.auth === "public" ? { shared: [], scoped: principalScoped } : { shared: perPrincipal, scoped: principalScoped },
            );
      // Kept on the route's own config: found per request without building a lookup key.
      route.config = { ...route.config, rampartLimits: compiled };
    } catch (error) {
      throw new Error(`route ${routeId}: invalid rate limit: ${(error as Error).message}`);
    }
  }

  function requestsFor(side: CompiledSide, key: string, routeId: string): LimitRequest[] {
    const requests: LimitRequest[] = side.shared.map((policy) => ({ key, policy }));
    for (const policy of side.scoped) requests.push({ key: scopedKey(key, routeId), policy });
    return requests;
  }

  /**
   * Applies one stage's decision. Both stages report the same combined `RateLimit-Policy`; `RateLimit`
   * names whichever decided policy is closest to exhaustion, across the two stages.
   */
  function apply(request: PipelineRequest, reply: PipelineReply, outcome: RateLimitOutcome): boolean {
    if (!outcome.allowed) throw rateLimitedError(outcome);
    const remaining = outcome.decision.closest.remaining;
    const state = request.rampart;
    if (state.limitRemaining === undefined || remaining < state.limitRemaining) {
      state.limitRemaining = remaining;
      reply.headers(outcome.headers);
    }
    return true;
  }

  function run(request: PipelineRequest, reply: PipelineReply, route: CompiledRoute, side: CompiledSide, key: string) {
    if (side.shared.length + side.scoped.length === 0 || route.header === undefined) return true;
    const outcome = limiter.check(requestsFor(side, key, route.routeId), route.header);
    // The memory store answers synchronously: no promise and no closure on that path.
    return outcome instanceof Promise ? outcome.then((o) => apply(request, reply, o)) : apply(request, reply, outcome as RateLimitOutcome);
  }

  // Requests matching no route (on their way to a 404) still count against the per-IP limit.
  const unmatched = build("unmatched", { shared: perIp, scoped: [] }, NONE);
  const lookup = (request: PipelineRequest) => (request.routeOptions.config?.rampartLimits as CompiledRoute | undefined) ?? unmatched;

  return {
    onRoute: compile,
    limitClient(request: PipelineRequest, reply: PipelineReply) {
      const route = lookup(request);
      return run(request, reply, route, route.client, clientKey(request.rampart.client.ip, keyOptions));
    },
    limitPrincipal(request: PipelineRequest, reply: PipelineReply) {
      return limitPrincipalSide(request, reply, false);
    },
    /** Stage 4's route-scoped policies only (see CompiledRoute.own). */
    limitClientOwn(request: PipelineRequest, reply: PipelineReply) {
      const route = lookup(request);
      return run(request, reply, route, route.own.client, clientKey(request.rampart.client.ip, keyOptions));
    },
    /** Stage 7's route-scoped policies only, for a request whose shared ones were counted already. */
    limitPrincipalOwn(request: PipelineRequest, reply: PipelineReply) {
      return limitPrincipalSide(request, reply, true);
    },
  };

  function limitPrincipalSide(request: PipelineRequest, reply: PipelineReply, ownOnly: boolean) {
    const principal = request.rampart.principal;
    if (!principal) return true;
    const key = principalKey(principal.via === "api-token" ? `t:${principal.credentialId}` : `u:${principal.userId}`);
    const route = lookup(request);
    return run(request, reply, route, ownOnly ? route.own.principal : route.principal, key);
  }
}
