import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { decideStack } from "../../../src/core/ratelimit/decision.ts";
import { rateLimitHeader, rateLimitHeaders, rateLimitPolicyHeader, retryAfterHeader } from "../../../src/core/ratelimit/headers.ts";
import { definePolicy, parsePolicy } from "../../../src/core/ratelimit/policy.ts";
import type { PolicyResult } from "../../../src/core/ratelimit/store.ts";
import { parseSfList } from "../../support/structured-fields.ts";


const burst = parsePolicy("burst", "100/minute");
const sustained = parsePolicy("sustained", "1000/hour");

function result(overrides: Partial<PolicyResult>): PolicyResult {
  return { key: "ip:192.0.2.1", policy: burst, allowed: true, remaining: 50, resetMs: 0, refillMs: 0, retryAfterMs: 0, ...overrides };
}

describe("the test's RFC 8941 parser", () => {
  test("accepts Lists and rejects what is not one", () => {
    assert.deepEqual(parseSfList('"a";q=1, "b";w=2;x'), [
      { value: "a", params: { q: 1 } },
      { value: "b", params: { w: 2, x: true } },
    ]);
    for (const bad of ['"a",', '"a" "b"', "(a b)", '"a";Q=1', '"a";q=1.5.5', '"unterminated', '"a";q=01234567890123456']) {
      assert.throws(() => parseSfList(bad), SyntaxError, bad);
    }
  });
});

describe("RateLimit-Policy", () => {
  test("lists every policy of the route as sf-strings with q and w", () => {
    const header = rateLimitPolicyHeader([burst, sustained]);
    assert.equal(header, '"burst";q=100;w=60, "sustained";q=1000;w=3600');
    assert.deepEqual(parseSfList(header), [
      { value: "burst", params: { q: 100, w: 60 } },
      { value: "sustained", params: { q: 1000, w: 3600 } },
    ]);
  });

  test("refuses a list clients could not read", () => {
    assert.throws(() => rateLimitPolicyHeader([]), /at least one policy/);
    assert.throws(() => rateLimitPolicyHeader([burst, parsePolicy("burst", "5/second")]), /two policies of one route are named "burst"/);
  });
});

describe("RateLimit and Retry-After", () => {
  test("RateLimit names the policy with r and t, t in whole seconds rounded up", () => {
    assert.equal(rateLimitHeader(result({ remaining: 50, refillMs: 30_000 })), '"burst";r=50;t=30');
    assert.equal(rateLimitHeader(result({ remaining: 0, refillMs: 1 })), '"burst";r=0;t=1');
    assert.equal(rateLimitHeader(result({ remaining: 3, refillMs: 1001 })), '"burst";r=3;t=2');
    assert.equal(rateLimitHeader(result({ remaining: 100, refillMs: 0 })), '"burst";r=100;t=0');
  });

  test("Retry-After is whole seconds, rounded up, at least 1", () => {
    assert.deepEqual(
      [0, 1, 999, 1000, 1001, 59_500].map(retryAfterHeader),
      ["1", "1", "1", "1", "2", "60"],
    );
  });

  test("a denial reports the violated policy and a Retry-After no earlier than t", () => {
    const now = 1_800_000_000_000_000;
    const requests = [
      { key: "p:u", policy: sustained },
      { key: "p:u", policy: parsePolicy("burst", "2/minute"), cost: 2 },
    ];
    const first = decideStack(requests, [0, 0], now);
    const headers = rateLimitHeaders(decideStack(requests, first.tats, now).decision, "x");
    assert.equal(headers.RateLimit, '"burst";r=0;t=30');
    assert.equal(headers["Retry-After"], "60");
    assert.equal(headers["RateLimit-Policy"], "x");
    assert.equal(rateLimitHeaders(first.decision, "x")["Retry-After"], undefined);
  });

  test("property: every field built from any decision is an RFC 8941 List naming its policies", () => {
    const policyArb = fc
      .record({
        name: fc.stringMatching(/^[a-z*][a-z0-9_\-.*]{0,12}$/),
        limit: fc.integer({ min: 1, max: 10_000 }),
        seconds: fc.integer({ min: 1, max: 86_400 }),
        burst: fc.integer({ min: 1, max: 100 }),
      })
      .map(({ name, limit, seconds, burst }) => definePolicy({ name, limit, periodMs: seconds * 1000, burst }));
    fc.assert(
      fc.property(
        fc.uniqueArray(policyArb, { minLength: 1, maxLength: 4, selector: (p) => p.name }),
        fc.array(fc.integer({ min: 0, max: 2 ** 40 })),
        (policies, tats) => {
          const now = 1_800_000_000_000_000;
          const requests = policies.map((policy) => ({ key: "p:u", policy }));
          const { decision } = decideStack(
            requests,
            policies.map((_, i) => now + (tats[i] ?? 0)),
            now,
          );
          const headers = rateLimitHeaders(decision, rateLimitPolicyHeader(policies));
          const listed = parseSfList(headers["RateLimit-Policy"]!);
          assert.deepEqual(
            listed.map((item) => item.value),
            policies.map((p) => p.name),
          );
          for (const item of listed) assert.deepEqual(Object.keys(item.params), ["q", "w"]);
          const [current, ...rest] = parseSfList(headers.RateLimit!);
          assert.equal(rest.length, 0);
          assert.equal(current!.value, decision.closest.policy.name);
          assert.ok(Number.isInteger(current!.params.r) && (current!.params.r as number) >= 0);
          assert.ok(Number.isInteger(current!.params.t) && (current!.params.t as number) >= 0);
          if (!decision.allowed) assert.ok(Number(headers["Retry-After"]) >= (current!.params.t as number));
        },
      ),
      { numRuns: 300 },
    );
  });
});
