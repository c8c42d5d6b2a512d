/**
 * src/http/telemetry.ts alone: which stage a refusal is counted against, label values kept to fixed
 * sets, and the rate-limit store instrumented in place (timed, its fallbacks and availability read at
 * scrape time, a closed-policy 503 counted against the limit stage). The HTTP view is in
 * metrics-operator.test.ts.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { RampartError } from "../../src/core/errors.ts";
import { OAuthError } from "../../src/core/oauth/errors.ts";
import { clientKey, MemoryRateLimitStore, parsePolicy, RedisRateLimitStore } from "../../src/core/ratelimit/index.ts";
import type { Principal } from "../../src/http/request-state.ts";
import { createAppTelemetry, type RefusedRequest, refusalStage } from "../../src/http/telemetry.ts";
import { sample } from "../support/prometheus.ts";

const principal = (held: string[]) =>
  ({ userId: "u1", roles: [], via: "bearer", credentialId: "j1", permissions: { has: (p: string) => held.includes(p), list: () => held, patterns: [] } }) as unknown as Principal;

function request(options: { principal?: Principal; auth?: "public"; permissions?: string[]; url?: string | null } = {}): RefusedRequest {
  return {
    rampart: { principal: options.principal },
    routeOptions: {
      url: options.url === null ? undefined : (options.url ?? "/things"),
      config: { rampart: { ...(options.auth ? { auth: options.auth } : {}), ...(options.permissions ? { permissions: options.permissions } : {}) } },
    },
  };
}

describe("refusalStage", () => {
  it("codes that belong to one stage wherever they are raised", () => {
    assert.equal(refusalStage("RAMPART_ERR_HTTPS_REQUIRED", request()), "transport");
    assert.equal(refusalStage("RAMPART_ERR_HOST_NOT_ALLOWED", { rampart: null, routeOptions: {} }), "transport");
    assert.equal(refusalStage("RAMPART_ERR_NOT_ACCEPTABLE", request()), "transport");
    assert.equal(refusalStage("RAMPART_ERR_AMBIGUOUS_PATH", request()), "transport");
    assert.equal(refusalStage("RAMPART_ERR_INSUFFICIENT_SCOPE", request({ principal: principal([]) })), "authorize");
    assert.equal(refusalStage("RAMPART_ERR_MALFORMED_JSON", request()), "validate");
    assert.equal(refusalStage("RAMPART_ERR_BAD_REQUEST", request(), "framework"), "validate");
  });

  it("a 429 before authentication is stage 4's, after it stage 7's", () => {
    assert.equal(refusalStage("RAMPART_ERR_RATE_LIMITED", request()), "limit-client");
    assert.equal(refusalStage("RAMPART_ERR_RATE_LIMITED", request({ principal: principal([]) })), "limit-principal");
    assert.equal(refusalStage("RAMPART_ERR_STORE_UNAVAILABLE", request(), "limit-store"), "limit-client");
    assert.equal(refusalStage("RAMPART_ERR_STORE_UNAVAILABLE", request({ principal: principal([]) }), "limit-store"), "limit-principal");
    // A per-IP default decided by stage 7 for stage 4 (one round trip for both) is still stage 4's refusal.
    assert.equal(refusalStage("RAMPART_ERR_RATE_LIMITED", request({ principal: principal([]) }), "rampart", "ip-2"), "limit-client");
    assert.equal(refusalStage("RAMPART_ERR_RATE_LIMITED", request({ principal: principal([]) }), "rampart", "user"), "limit-principal");
  });

  it("a stage recorded on the request by the code that refused wins over any inference", () => {
    const tagged: RefusedRequest = { rampart: { principal: principal([]), refusedBy: "limit-client" }, routeOptions: { url: "/things" } };
    assert.equal(refusalStage("RAMPART_ERR_RATE_LIMITED", tagged, "rampart", "route-1"), "limit-client");
  });

  it("a 401 without a principal on a route that needs one is stage 5's; on a public route, the handler's", () => {
    assert.equal(refusalStage("RAMPART_ERR_UNAUTHENTICATED", request()), "authenticate");
    assert.equal(refusalStage("RAMPART_ERR_INVALID_TOKEN", request()), "authenticate");
    // /auth/refresh: a public route whose handler refuses a refresh token.
    assert.equal(refusalStage("RAMPART_ERR_INVALID_TOKEN", request({ auth: "public" })), "handle");
    assert.equal(refusalStage("RAMPART_ERR_UNAUTHENTICATED", request({ principal: principal([]) })), "handle");
    // Storage down while checking a credential (not the limiter's store): stage 5.
    assert.equal(refusalStage("RAMPART_ERR_STORE_UNAVAILABLE", request()), "authenticate");
    assert.equal(refusalStage("RAMPART_ERR_STORE_UNAVAILABLE", request({ principal: principal([]) })), "handle");
  });

  it("CSRF with a principal is stage 6's; the cookie refresh's own check is the handler's", () => {
    assert.equal(refusalStage("RAMPART_ERR_CSRF", request({ principal: principal([]) })), "csrf");
    assert.equal(refusalStage("RAMPART_ERR_CSRF", request({ auth: "public" })), "handle");
  });

  it("a 403 for a declared permission the principal lacks is stage 8's; a handler's own 403 is the handler's", () => {
    assert.equal(refusalStage("RAMPART_ERR_FORBIDDEN", request({ principal: principal(["a:read"]), permissions: ["a:write"] })), "authorize");
    assert.equal(refusalStage("RAMPART_ERR_FORBIDDEN", request({ principal: principal(["a:write"]), permissions: ["a:write"] })), "handle");
    assert.equal(refusalStage("RAMPART_ERR_FORBIDDEN", request({ auth: "public" })), "handle");
    assert.equal(refusalStage("RAMPART_ERR_CONFLICT", request({ principal: principal([]) })), "handle");
  });
});

describe("createAppTelemetry", () => {
  it("counts 429s by policy, folding a name that is not a plain policy name into 'other'", async () => {
    const telemetry = createAppTelemetry();
    const limited = (policy: unknown) => new RampartError("RAMPART_ERR_RATE_LIMITED", { extensions: { policy } });
    telemetry.observeError(request() as never, limited("ip"));
    telemetry.observeError(request() as never, limited("route-2"));
    telemetry.observeError(request() as never, limited("u:3f1c@example.com"));
    telemetry.observeError(request() as never, limited(undefined));
    const text = await telemetry.registry.metrics();
    assert.equal(sample(text, "rampart_rate_limited_total", { policy: "ip" }), 1);
    assert.equal(sample(text, "rampart_rate_limited_total", { policy: "route-2" }), 1);
    assert.equal(sample(text, "rampart_rate_limited_total", { policy: "other" }), 2);
    assert.doesNotMatch(text, /example\.com/);
  });

  it("counts refusals only: 4xx and 503, not a 500; OAuth errors by their RFC code", async () => {
    const telemetry = createAppTelemetry();
    telemetry.observeError(request() as never, new Error("boom"));
    telemetry.observeError(request() as never, new RampartError("RAMPART_ERR_SHUTTING_DOWN"));
    telemetry.observeError(request({ auth: "public" }) as never, new OAuthError("invalid_client", "Client authentication failed."));
    const text = await telemetry.registry.metrics();
    assert.equal(sample(text, "rampart_refusals_total", { code: "RAMPART_ERR_INTERNAL" }), undefined);
    assert.equal(sample(text, "rampart_refusals_total", { stage: "transport", code: "RAMPART_ERR_SHUTTING_DOWN" }), 1);
    assert.equal(sample(text, "rampart_refusals_total", { stage: "handle", code: "invalid_client" }), 1);
  });

  it("records the identity flows' events, broadcast lag and revocation sync", async () => {
    const telemetry = createAppTelemetry();
    let inSync = false;
    telemetry.watchRevocationSync(() => inSync);
    telemetry.loginFailure("mfa");
    telemetry.refreshReuseDetected();
    telemetry.revocationApplied("broadcast");
    telemetry.revocationApplied("storage", 12);
    telemetry.revocationApplied("storage", 0);
    telemetry.broadcastLag(0.002);
    telemetry.broadcastLag(-0.001);
    let text = await telemetry.registry.metrics();
    assert.equal(sample(text, "rampart_login_failures_total", { reason: "mfa" }), 1);
    assert.equal(sample(text, "rampart_login_failures_total", { reason: "bad_credentials" }), 0);
    assert.equal(sample(text, "rampart_refresh_reuse_detected_total"), 1);
    assert.equal(sample(text, "rampart_revocations_total", { source: "broadcast" }), 1);
    assert.equal(sample(text, "rampart_revocations_total", { source: "storage" }), 12);
    assert.equal(sample(text, "rampart_revocations_total", { source: "local" }), 0);
    assert.equal(sample(text, "rampart_broadcast_lag_seconds_count"), 2);
    assert.equal(sample(text, "rampart_broadcast_lag_seconds_bucket", { le: "0.0025" }), 2);
    assert.equal(sample(text, "rampart_revocation_in_sync"), 0);
    inSync = true;
    text = await telemetry.registry.metrics();
    assert.equal(sample(text, "rampart_revocation_in_sync"), 1);
  });

  it("reports a pool only for a database that has one", async () => {
    const telemetry = createAppTelemetry();
    telemetry.watchDatabase({ poolState: () => undefined });
    assert.doesNotMatch(await telemetry.registry.metrics(), /rampart_db_pool_/);
    const withPool = createAppTelemetry();
    withPool.watchDatabase({ poolState: () => ({ total: 4, idle: 1, waiting: 2, max: 10 }) });
    const text = await withPool.registry.metrics();
    assert.equal(sample(text, "rampart_db_pool_connections", { state: "active" }), 3);
    assert.equal(sample(text, "rampart_db_pool_connections", { state: "idle" }), 1);
    assert.equal(sample(text, "rampart_db_pool_waiting"), 2);
    assert.equal(sample(text, "rampart_db_pool_max"), 10);
  });
});

describe("instrumentLimitStore", () => {
  const limit = [{ key: clientKey("192.0.2.1"), policy: parsePolicy("ip", "10/second") }];
  const stores: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const store of stores) await store.close();
  });
  // Nothing listens on port 1: every call finds Redis unreachable, as during an outage.
  const unreachable = (failure: "open" | "closed") => {
    const store = new RedisRateLimitStore({ url: "redis://127.0.0.1:1", failure, timeoutMs: 50 });
    stores.push(store);
    return store;
  };

  it("leaves an in-process store untouched", () => {
    const store = new MemoryRateLimitStore();
    stores.push(store);
    const telemetry = createAppTelemetry();
    assert.equal(telemetry.instrumentLimitStore(store), store);
    assert.equal(Object.hasOwn(store, "consume"), false);
  });

  it("failing open: the fallback decision is timed, counted as a fallback, and the store reported unavailable", async () => {
    const telemetry = createAppTelemetry();
    const store = telemetry.instrumentLimitStore(unreachable("open"));
    assert.ok(store instanceof RedisRateLimitStore, "still the store: readiness checks find it");
    const decision = await store.consume(limit);
    assert.equal(decision.allowed, true);
    assert.equal(store.stats().fallbacks, 1, "the store's own methods still work");
    const text = await telemetry.registry.metrics();
    assert.equal(sample(text, "rampart_ratelimit_store_seconds_count", { store: "redis" }), 1);
    assert.equal(sample(text, "rampart_ratelimit_fallback_total", { store: "redis" }), 1);
    assert.equal(sample(text, "rampart_ratelimit_store_failures_total", { store: "redis" }), 1);
    assert.equal(sample(text, "rampart_ratelimit_store_round_trips_total", { store: "redis" }), 0);
    assert.equal(sample(text, "rampart_ratelimit_store_available", { store: "redis" }), 0);
    // A second scrape shows the same totals (mirrored, not added twice).
    assert.equal(sample(await telemetry.registry.metrics(), "rampart_ratelimit_fallback_total", { store: "redis" }), 1);
  });

  it("failing closed: the 503 is counted against the limit stage, before or after authentication", async () => {
    const telemetry = createAppTelemetry();
    const store = telemetry.instrumentLimitStore(unreachable("closed"));
    for (const who of [undefined, principal([])]) {
      const error = await store.consume(limit).then(
        () => assert.fail("a closed store refuses"),
        (rejection: unknown) => rejection,
      );
      assert.equal((error as RampartError).code, "RAMPART_ERR_STORE_UNAVAILABLE");
      telemetry.observeError(request(who ? { principal: who } : {}) as never, error);
    }
    const text = await telemetry.registry.metrics();
    assert.equal(sample(text, "rampart_refusals_total", { stage: "limit-client", code: "RAMPART_ERR_STORE_UNAVAILABLE" }), 1);
    assert.equal(sample(text, "rampart_refusals_total", { stage: "limit-principal", code: "RAMPART_ERR_STORE_UNAVAILABLE" }), 1);
    assert.equal(sample(text, "rampart_ratelimit_store_seconds_count", { store: "redis" }), 2);
  });

  it("times any other consuming method it is told about, and refuses a name the store does not have", async () => {
    const telemetry = createAppTelemetry();
    const base = unreachable("open");
    // The shape of a combined two-identity consume the store may grow: timed by naming it.
    const store = Object.assign(base, { consumeBoth: (requests: typeof limit) => base.consume(requests) });
    telemetry.instrumentLimitStore(store, ["consume", "consumeBoth"]);
    await store.consumeBoth(limit);
    // consumeBoth calls the (timed) consume: two observations for one combined call.
    assert.equal(sample(await telemetry.registry.metrics(), "rampart_ratelimit_store_seconds_count", { store: "redis" }), 2);
    assert.throws(() => createAppTelemetry().instrumentLimitStore(unreachable("open"), ["consumeNothing"]), /no method "consumeNothing"/);
  });
});
