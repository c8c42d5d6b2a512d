import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RampartError } from "../../../src/core/errors.ts";
import { createRateLimiter, rateLimitedError } from "../../../src/core/ratelimit/limiter.ts";
import { MemoryRateLimitStore } from "../../../src/core/ratelimit/memory-store.ts";
import { parsePolicy } from "../../../src/core/ratelimit/policy.ts";
import { isThenable, type RateLimitStore } from "../../../src/core/ratelimit/store.ts";
import * as api from "../../../src/core/ratelimit/index.ts";

const burst = parsePolicy("burst", "2/minute");
const sustained = parsePolicy("sustained", "100/hour");
const key = "ip:192.0.2.1";

function memory() {
  return new MemoryRateLimitStore({ clock: () => 1_800_000_000_000 });
}

describe("createRateLimiter", () => {
  test("is synchronous over an in-process store and returns the header map", () => {
    const limiter = createRateLimiter({ store: memory() });
    const outcome = limiter.check([
      { key, policy: burst },
      { key, policy: sustained },
    ]);
    assert.equal(isThenable(outcome), false);
    if (isThenable(outcome)) return;
    assert.equal(outcome.allowed, true);
    assert.deepEqual(outcome.headers, {
      "RateLimit-Policy": '"burst";q=2;w=60, "sustained";q=100;w=3600',
      RateLimit: '"burst";r=1;t=30',
    });
  });

  test("uses the route's precomputed RateLimit-Policy verbatim", () => {
    const limiter = createRateLimiter({ store: memory() });
    const outcome = limiter.check([{ key, policy: burst }], "precomputed");
    assert.ok(!isThenable(outcome));
    assert.equal(outcome.headers["RateLimit-Policy"], "precomputed");
  });

  test("returns a promise over a remote store", async () => {
    const local = memory();
    const remote: RateLimitStore = { consume: async (requests) => local.consume(requests), close: () => local.close() };
    const pending = createRateLimiter({ store: remote }).check([{ key, policy: burst }]);
    assert.ok(isThenable(pending));
    assert.equal((await pending).allowed, true);
  });

  test("a denial becomes a 429 RampartError carrying the fields and naming the policy, not the key", () => {
    const limiter = createRateLimiter({ store: memory() });
    const check = () => limiter.check([{ key, policy: burst }]);
    check();
    check();
    const outcome = check();
    assert.ok(!isThenable(outcome));
    assert.equal(outcome.allowed, false);
    const error = rateLimitedError(outcome);
    assert.ok(error instanceof RampartError);
    assert.equal(error.code, "RAMPART_ERR_RATE_LIMITED");
    assert.equal(error.status, 429);
    assert.equal(error.headers?.["Retry-After"], "30");
    assert.equal(error.headers?.RateLimit, '"burst";r=0;t=30');
    assert.deepEqual(error.extensions, { policy: "burst", "violated-policies": ["burst"] });
    assert.doesNotMatch(error.detail, /192\.0\.2\.1/);
    assert.match(error.reason ?? "", /192\.0\.2\.1/);
  });

  test("requires a store", () => {
    assert.throws(() => createRateLimiter({} as never), /"store" option/);
  });
});

describe("index", () => {
  test("exports the public surface by name", () => {
    assert.deepEqual(Object.keys(api).sort(), [
      "MemoryRateLimitStore",
      "RedisRateLimitStore",
      "bucketKey",
      "checkRequests",
      "clientKey",
      "createRateLimiter",
      "decideStack",
      "definePolicy",
      "emissionIntervalUs",
      "gcra",
      "isThenable",
      "keyIdentity",
      "limitOutcome",
      "parsePolicy",
      "principalKey",
      "rateLimitHeader",
      "rateLimitHeaders",
      "rateLimitPolicyHeader",
      "rateLimitedError",
      "redisUnavailable",
      "retryAfterHeader",
      "scopedKey",
    ]);
  });
});
