/**
 * The one suite every `RateLimitStore` runs (memory-store.test.ts, redis-store.test.ts).
 *
 * Time: each harness moves its store's clock with `advance` (memory: an injected clock; Redis: an offset
 * added to Redis's own TIME). Redis time also moves by itself while the suite runs, so expectations allow
 * SLACK_MS of real time, and policies use minute/hour periods, where a few real ms never refill a unit.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { principalKey, scopedKey } from "../../src/core/ratelimit/keys.ts";
import { parsePolicy } from "../../src/core/ratelimit/policy.ts";
import type { LimitDecision, LimitRequest, RateLimitStore } from "../../src/core/ratelimit/store.ts";

export interface StoreHarness {
  readonly store: RateLimitStore;
  /** Moves the store's notion of now forward by `ms`. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export interface ContractOptions {
  /** From `serviceSkip()`: skip locally when the backing service is down. */
  readonly skip?: string | false;
}

const SLACK_MS = 1000;

const burst3 = parsePolicy("burst", "3/minute"); // T = 20 s
const burst2 = parsePolicy("burst", "2/minute"); // T = 30 s
const sustained3 = parsePolicy("sustained", "3/hour"); // T = 20 min
const wide = parsePolicy("wide", "10/minute"); // T = 6 s

function within(actual: number, expected: number, message?: string): void {
  assert.ok(actual <= expected && actual > expected - SLACK_MS, `${message ?? "value"}: ${actual} not within ${SLACK_MS} ms below ${expected}`);
}

export function runRateLimitStoreContract(name: string, makeHarness: () => StoreHarness | Promise<StoreHarness>, options: ContractOptions = {}): void {
  describe(`RateLimitStore contract: ${name}`, { skip: options.skip }, () => {
    /** Runs `body` with a fresh harness and a key no other test (or run) uses. */
    const withStore = (body: (h: StoreHarness, key: string, consume: (r: LimitRequest[]) => Promise<LimitDecision>) => Promise<void>) => async () => {
      const harness = await makeHarness();
      try {
        await body(harness, principalKey(randomUUID()), async (requests) => harness.store.consume(requests));
      } finally {
        await harness.close();
      }
    };

    test(
      "admits burst requests at once, then denies naming the policy and when to retry",
      withStore(async (_h, key, consume) => {
        const remaining: number[] = [];
        for (let i = 0; i < 3; i++) {
          const decision = await consume([{ key, policy: burst3 }]);
          assert.ok(decision.allowed);
          assert.equal(decision.retryAfterMs, 0);
          assert.equal(decision.violated, undefined);
          remaining.push(decision.closest.remaining);
        }
        assert.deepEqual(remaining, [2, 1, 0]);
        const denied = await consume([{ key, policy: burst3 }]);
        assert.equal(denied.allowed, false);
        assert.equal(denied.violated?.policy.name, "burst");
        assert.equal(denied.closest, denied.violated);
        assert.equal(denied.violated?.key, key);
        within(denied.retryAfterMs, 20_000, "retry-after");
      }),
    );

    test(
      "stacked burst and sustained limits are both enforced",
      withStore(async (h, key, consume) => {
        const stack = [
          { key, policy: burst2 },
          { key, policy: sustained3 },
        ];
        assert.ok((await consume(stack)).allowed);
        assert.ok((await consume(stack)).allowed);
        const byBurst = await consume(stack);
        assert.equal(byBurst.violated?.policy.name, "burst");
        within(byBurst.retryAfterMs, 30_000);
        h.advance(30_000);
        const third = await consume(stack);
        assert.ok(third.allowed);
        assert.deepEqual(
          third.results.map((r) => [r.policy.name, r.remaining]),
          [
            ["burst", 0],
            ["sustained", 0],
          ],
        );
        h.advance(30_000);
        const bySustained = await consume(stack);
        assert.equal(bySustained.allowed, false);
        assert.equal(bySustained.violated?.policy.name, "sustained");
        assert.deepEqual(
          bySustained.results.map((r) => r.allowed),
          [true, false],
        );
        // Sustained TAT = start + 3·20 min, one more unit fits at TAT + 20 min − 60 min; now is start + 1 min.
        within(bySustained.retryAfterMs, 19 * 60_000, "sustained retry-after");
      }),
    );

    test(
      "all or nothing: a policy that admits consumes nothing when another denies",
      withStore(async (_h, key, consume) => {
        const stack = [
          { key, policy: burst2 },
          { key, policy: wide },
        ];
        await consume(stack);
        await consume(stack);
        for (let i = 0; i < 5; i++) {
          const denied = await consume(stack);
          assert.equal(denied.allowed, false);
          assert.equal(denied.results[1]!.allowed, true);
          assert.equal(denied.results[1]!.remaining, 8, "reported without this request's cost");
        }
        assert.equal((await consume([{ key, policy: wide }])).closest.remaining, 7);
      }),
    );

    test(
      "cost consumes that many units and is refused whole",
      withStore(async (_h, key, consume) => {
        assert.equal((await consume([{ key, policy: wide, cost: 4 }])).closest.remaining, 6);
        assert.equal((await consume([{ key, policy: wide, cost: 4 }])).closest.remaining, 2);
        const denied = await consume([{ key, policy: wide, cost: 4 }]);
        assert.equal(denied.allowed, false);
        assert.equal(denied.closest.remaining, 2);
        within(denied.retryAfterMs, 12_000, "two more units");
        const fits = await consume([{ key, policy: wide, cost: 2 }]);
        assert.deepEqual([fits.allowed, fits.closest.remaining], [true, 0]);
      }),
    );

    test(
      "retry-after is exact: still denied just before it, admitted at it",
      withStore(async (h, key, consume) => {
        for (let i = 0; i < 3; i++) await consume([{ key, policy: burst3 }]);
        const { retryAfterMs } = await consume([{ key, policy: burst3 }]);
        h.advance(retryAfterMs - SLACK_MS);
        assert.equal((await consume([{ key, policy: burst3 }])).allowed, false);
        h.advance(SLACK_MS);
        assert.ok((await consume([{ key, policy: burst3 }])).allowed);
      }),
    );

    test(
      "denials consume nothing, and quota returns as time passes",
      withStore(async (h, key, consume) => {
        for (let i = 0; i < 3; i++) await consume([{ key, policy: burst3 }]);
        for (let i = 0; i < 10; i++) assert.equal((await consume([{ key, policy: burst3 }])).allowed, false);
        h.advance(20_000);
        assert.ok((await consume([{ key, policy: burst3 }])).allowed, "hammering did not push the refill back");
        assert.equal((await consume([{ key, policy: burst3 }])).allowed, false);
        h.advance(60_000);
        const rested = [];
        for (let i = 0; i < 4; i++) rested.push((await consume([{ key, policy: burst3 }])).allowed);
        assert.deepEqual(rested, [true, true, true, false], "a full period restores the whole burst");
      }),
    );

    test(
      "reports the policy closest to exhaustion",
      withStore(async (_h, key, consume) => {
        const decision = await consume([
          { key, policy: wide },
          { key: scopedKey(key, "POST /notes"), policy: burst3 },
        ]);
        assert.deepEqual(
          decision.results.map((r) => r.remaining),
          [9, 2],
        );
        assert.equal(decision.closest.policy.name, "burst");
        within(decision.closest.refillMs, 20_000, "refill");
        within(decision.closest.resetMs, 20_000, "reset");
      }),
    );

    test(
      "keys, scopes and policies are independent buckets",
      withStore(async (_h, key, consume) => {
        for (let i = 0; i < 3; i++) await consume([{ key, policy: burst3 }]);
        assert.equal((await consume([{ key, policy: burst3 }])).allowed, false);
        assert.ok((await consume([{ key: scopedKey(key, "GET /notes"), policy: burst3 }])).allowed);
        assert.ok((await consume([{ key: principalKey(randomUUID()), policy: burst3 }])).allowed);
        assert.ok((await consume([{ key, policy: parsePolicy("other", "3/minute") }])).allowed);
        assert.ok((await consume([{ key, policy: parsePolicy("burst", "4/minute") }])).allowed, "same name, other rate");
      }),
    );

    test(
      "rejects requests it cannot decide correctly",
      withStore(async (_h, key, consume) => {
        await assert.rejects(consume([]), TypeError);
        await assert.rejects(consume([{ key, policy: wide, cost: 11 }]), /cost must be an integer from 1 to 10/);
        await assert.rejects(consume([{ key, policy: wide, cost: 1.5 }]), TypeError);
        await assert.rejects(consume([{ key, policy: wide, cost: 0 }]), TypeError);
        await assert.rejects(consume([{ key: "x{y}", policy: wide }]), /without "\{" or "\}"/);
        await assert.rejects(
          consume([
            { key, policy: wide },
            { key: principalKey("someone-else"), policy: burst3 },
          ]),
          /one identity per consume/,
        );
        await assert.rejects(
          consume([
            { key, policy: wide },
            { key, policy: wide },
          ]),
          /duplicates request 0/,
        );
      }),
    );
  });
}
