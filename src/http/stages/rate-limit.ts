/**
 * Stages 4 and 7, rate limits: a thin adapter over core/ratelimit. Stage 4 runs before authentication
 * and keys by client IP (trusted-proxy aware, IPv6 grouped by prefix): every route's per-IP policies
 * plus the route's own IP-keyed ones (login, register). Stage 7 keys by principal (user or API token).
 * Each stage decides all of its stacked limits in one store call. Route policies are compiled when the
 * route is registered, so a bad policy stops start-up and names the route.
 *
 * One round trip: on a single Redis, a request whose credential resolves from memory (a cached,
 * unrevoked bearer JWT or API token of a cached user: stage 5 is then a few map lookups and cannot fail
 * differently in between, as stages 4–5 run in one tick) has its per-IP decision deferred from stage 4 to stage 7,
 * where one script decides the per-IP stack and then, only if it admitted, the per-principal stack.
 * Same semantics as two calls, half the round trips. Every other request keeps the per-IP refusal
 * before any authentication work.
 */
import type { PipelineReply, PipelineRequest, RouteDefinition } from "../stage-io.ts";
import type { ResolvedConfig } from "../../config/resolve.ts";
import { RampartError } from "../../core/errors.ts";
import type { Principal } from "../request-state.ts";
import {
  clientKey,
  createRateLimiter,
  type LimitDecision,
  type LimitRequest,
  limitOutcome,
  parsePolicy,
  principalKey,
  type RateLimiter,
  type RateLimitOutcome,
  type RateLimitPolicy,
  type RateLimitStore,
  RedisRateLimitStore,
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
  /** Both stages have policies on an authenticated route: stage 4 may defer to stage 7 (one round trip). */
  pairable: boolean;
  /**
   * A health probe (`config.rampartProbe`): served without limits while the shared store is down even
   * when the failure policy is closed (see routes/ops.ts).
   */
  probe: boolean;
}

export interface RateLimitStageOptions {
  /**
   * The principal stage 5 will produce, when it can be known from memory alone (no signature check, no
   * storage) and is a bearer credential; undefined otherwise. Enables the one-round-trip path.
   */
  peekPrincipal?: (request: PipelineRequest) => Principal | undefined;
}

const GROUPS = ["perIp", "perPrincipal", "login", "register"] as const;
type Group = (typeof GROUPS)[number];
const NONE: CompiledSide = { shared: [], scoped: [] };

export function policiesOf(config: ResolvedConfig, group: Group, name: string): RateLimitPolicy[] {
  return config.rateLimit[group].map((spec, index) => parsePolicy(index === 0 ? name : `${name}-${index + 1}`, spec));
}

const policiesIn = (side: CompiledSide) => [...side.shared, ...side.scoped];

export function createRateLimitStages(config: ResolvedConfig, store: RateLimitStore, options: RateLimitStageOptions = {}) {
  const limiter: RateLimiter = createRateLimiter({ store });
  const pairs = options.peekPrincipal && store instanceof RedisRateLimitStore && store.decidesPairs ? store : undefined;
  const peek = options.peekPrincipal;
  const perIp = policiesOf(config, "perIp", "ip");
  const perPrincipal = policiesOf(config, "perPrincipal", "user");
  const keyOptions = { ipv6Prefix: config.rateLimit.ipv6Prefix };

  function build(routeId: string, client: CompiledSide, principal: CompiledSide, authRequired = false): CompiledRoute {
    const all = [...policiesIn(client), ...policiesIn(principal)];
    const own = { client: { shared: [], scoped: client.scoped }, principal: { shared: [], scoped: principal.scoped } };
    const pairable = authRequired && policiesIn(client).length > 0 && policiesIn(principal).length > 0;
    return { routeId, client, principal, own, header: all.length > 0 ? rateLimitPolicyHeader(all) : undefined, pairable, probe: false };
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
              security?.auth !== "public",
            );
      compiled.probe = route.config?.rampartProbe === true;
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
    if (!(outcome instanceof Promise)) return apply(request, reply, outcome as RateLimitOutcome);
    const applied = outcome.then((o) => apply(request, reply, o));
    return route.probe ? applied.catch(admitProbe) : applied;
  }

  // Requests matching no route (on their way to a 404) still count against the per-IP limit.
  const unmatched = build("unmatched", { shared: perIp, scoped: [] }, NONE);
  const lookup = (request: PipelineRequest) => (request.routeOptions.config?.rampartLimits as CompiledRoute | undefined) ?? unmatched;

  // Not a cookie: the CSRF stage (6) could refuse it after stage 4 was deferred, and no IP would be counted.
  const isDeferrable = (principal: Principal | undefined) => principal !== undefined && principal.via !== "cookie";
  const admitProbe = (error: unknown) => {
    if (error instanceof RampartError && error.code === "RAMPART_ERR_STORE_UNAVAILABLE") return true;
    throw error;
  };
  const clientKeyOf = (request: PipelineRequest) => clientKey(request.rampart.client.ip, keyOptions);
  const principalKeyOf = (principal: Principal) => principalKey(principal.via === "api-token" ? `t:${principal.credentialId}` : `u:${principal.userId}`);

  /** Stage 7 with stage 4's decision deferred to it: both stacks in one call, per-IP first. */
  function runPair(request: PipelineRequest, reply: PipelineReply, route: CompiledRoute, principal: Principal) {
    const first = requestsFor(route.client, clientKeyOf(request), route.routeId);
    const second = requestsFor(route.principal, principalKeyOf(principal), route.routeId);
    return (pairs as RedisRateLimitStore).consumePair(first, second).then((pair) => {
      if (!pair.first.allowed) request.rampart.refusedBy = "limit-client";
      apply(request, reply, limitOutcome(pair.first, route.header as string));
      return apply(request, reply, limitOutcome(pair.second as LimitDecision, route.header as string));
    });
  }

  return {
    onRoute: compile,
    limitClient(request: PipelineRequest, reply: PipelineReply) {
      const route = lookup(request);
      if (pairs && route.pairable && route.header !== undefined && isDeferrable((peek as NonNullable<typeof peek>)(request))) {
        request.rampart.clientLimitDeferred = true;
        return true;
      }
      return run(request, reply, route, route.client, clientKeyOf(request));
    },
    limitPrincipal(request: PipelineRequest, reply: PipelineReply) {
      return limitPrincipalSide(request, reply, false);
    },
    /** Stage 4's route-scoped policies only (see CompiledRoute.own). */
    limitClientOwn(request: PipelineRequest, reply: PipelineReply) {
      const route = lookup(request);
      return run(request, reply, route, route.own.client, clientKeyOf(request));
    },
    /** Stage 7's route-scoped policies only, for a request whose shared ones were counted already. */
    limitPrincipalOwn(request: PipelineRequest, reply: PipelineReply) {
      return limitPrincipalSide(request, reply, true);
    },
  };

  function limitPrincipalSide(request: PipelineRequest, reply: PipelineReply, ownOnly: boolean) {
    const principal = request.rampart.principal;
    const route = lookup(request);
    if (request.rampart.clientLimitDeferred === true) {
      // Stage 5 admitted what stage 4 peeked (same tick, from memory): a principal is always there.
      return runPair(request, reply, route, principal as Principal);
    }
    if (!principal) return true;
    return run(request, reply, route, ownOnly ? route.own.principal : route.principal, principalKeyOf(principal));
  }
}
