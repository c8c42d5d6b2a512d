import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { emissionIntervalUs, gcra } from "../../../src/core/ratelimit/gcra.ts";
import { definePolicy, parsePolicy, type RateLimitPolicy } from "../../../src/core/ratelimit/policy.ts";

const EPOCH_US = 1_800_000_000_000_000; // an epoch in µs, as the stores pass it
const RUNS = { numRuns: 300 };

const policyArb = fc
  .record({ limit: fc.integer({ min: 1, max: 20 }), seconds: fc.integer({ min: 1, max: 120 }), burst: fc.integer({ min: 1, max: 30 }) })
  .map(({ limit, seconds, burst }) => definePolicy({ name: "p", limit, periodMs: seconds * 1000, burst }));

/** Arrival gaps in thousandths of T (so sequences are dense around the rate) and costs up to burst. */
const scenarioArb = policyArb.chain((policy) =>
  fc.record({
    policy: fc.constant(policy),
    start: fc.integer({ min: 0, max: 1e12 }),
    events: fc.array(fc.record({ gap: fc.integer({ min: 0, max: 2500 }), cost: fc.integer({ min: 1, max: policy.burst }) }), {
      maxLength: 120,
    }),
  }),
);

interface Admitted {
  readonly at: number;
  readonly cost: number;
}

function run(policy: RateLimitPolicy, start: number, events: readonly { gap: number; cost: number }[]) {
  const interval = emissionIntervalUs(policy);
  let now = EPOCH_US + start;
  let tat = 0;
  const admitted: Admitted[] = [];
  for (const { gap, cost } of events) {
    now += Math.floor((gap * interval) / 1000);
    const result = gcra(tat, now, policy, cost);
    if (result.allowed) {
      tat = result.tat;
      admitted.push({ at: now, cost });
    } else {
      assert.equal(result.tat, tat, "a denial leaves the state untouched");
    }
  }
  return { interval, admitted, now, tat };
}

describe("gcra", () => {
  test("a fresh key admits exactly burst requests at once, then denies", () => {
    const policy = parsePolicy("burst", "10/second burst 4");
    let tat = 0;
    const remaining: number[] = [];
    for (let i = 0; i < 4; i++) {
      const result = gcra(tat, EPOCH_US, policy);
      assert.ok(result.allowed);
      remaining.push(result.remaining);
      tat = result.tat;
    }
    assert.deepEqual(remaining, [3, 2, 1, 0]);
    const denied = gcra(tat, EPOCH_US, policy);
    assert.equal(denied.allowed, false);
    assert.equal(denied.remaining, 0);
    assert.equal(denied.retryAfterMs, 100); // one emission interval, T = 1 s / 10
    assert.equal(denied.refillMs, 100);
    assert.equal(denied.resetMs, 400); // four intervals until the bucket is full again
  });

  test("T is rounded up to a whole microsecond, so rounding only ever tightens the limit", () => {
    assert.equal(emissionIntervalUs(parsePolicy("p", "3/second")), 333_334);
    assert.equal(emissionIntervalUs(parsePolicy("p", "1000/hour")), 3_600_000);
  });

  test("cost consumes cost·T and is refused whole when it does not fit", () => {
    const policy = parsePolicy("p", "10/minute"); // T = 6 s
    const first = gcra(0, EPOCH_US, policy, 4);
    assert.deepEqual([first.allowed, first.remaining, first.resetMs], [true, 6, 24_000]);
    const second = gcra(first.tat, EPOCH_US, policy, 4);
    assert.deepEqual([second.allowed, second.remaining], [true, 2]);
    const third = gcra(second.tat, EPOCH_US, policy, 4);
    assert.deepEqual([third.allowed, third.remaining, third.retryAfterMs], [false, 2, 12_000]);
    assert.equal(gcra(second.tat, EPOCH_US, policy, 2).remaining, 0);
  });

  test("cost 0 peeks without consuming", () => {
    const policy = parsePolicy("p", "10/minute");
    const used = gcra(0, EPOCH_US, policy, 3).tat;
    const peek = gcra(used, EPOCH_US, policy, 0);
    assert.deepEqual([peek.allowed, peek.remaining, peek.tat], [true, 7, used]);
  });

  /*
   * The invariant, for every closed interval [s, e] of length w = e − s:
   *     admitted cost in [s, e]  ≤  burst + ⌊w / T⌋  ≤  burst + ⌊limit · w / period⌋
   * Proof: let A be the TAT just before the first admission in [s, e], at t₁ ≥ s. Each admission sets
   * TAT := max(TAT, t) + c·T, so after all of them TAT ≥ t₁ + C·T ≥ s + C·T. The last one, at t_k ≤ e, was
   * admitted, so TAT − t_k ≤ burst·T, i.e. TAT ≤ e + burst·T. Hence C·T ≤ w + burst·T. And T ≥ period/limit.
   * Checking every pair of admitted arrivals covers every interval (the worst one starts and ends on one).
   */
  test("property: in any window of length w, admitted cost ≤ burst + ⌊w / T⌋ (no boundary burst)", () => {
    fc.assert(
      fc.property(scenarioArb, ({ policy, start, events }) => {
        const { interval, admitted } = run(policy, start, events);
        for (let i = 0; i < admitted.length; i++) {
          let cost = 0;
          for (let j = i; j < admitted.length; j++) {
            cost += admitted[j]!.cost;
            const w = admitted[j]!.at - admitted[i]!.at;
            assert.ok(cost <= policy.burst + Math.floor(w / interval), `cost ${cost} in ${w} µs`);
            assert.ok(cost <= policy.burst + Math.floor((policy.limit * w) / (policy.periodMs * 1000)));
          }
        }
      }),
      RUNS,
    );
  });

  test("property: a client keeping to the rate is never refused, and long-run throughput is the rate", () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: 1, max: 200 }), (policy, n) => {
        const interval = emissionIntervalUs(policy);
        let tat = 0;
        for (let i = 0; i < n; i++) {
          const result = gcra(tat, EPOCH_US + i * interval, policy);
          assert.ok(result.allowed, `request ${i} at the rate`);
          tat = result.tat;
        }
        // Flooding for n intervals after a full bucket admits exactly burst + n.
        let admitted = 0;
        tat = 0;
        for (let step = 0; step <= n * 10; step++) {
          const now = EPOCH_US + Math.floor((step * interval) / 10);
          for (let result = gcra(tat, now, policy); result.allowed; result = gcra(tat, now, policy)) {
            tat = result.tat;
            admitted++;
          }
        }
        assert.equal(admitted, policy.burst + n);
      }),
      { numRuns: 100 },
    );
  });

  test("property: remaining, retryAfterMs and refillMs say exactly what will happen", () => {
    fc.assert(
      fc.property(scenarioArb, fc.integer({ min: 1, max: 30 }), ({ policy, start, events }, wanted) => {
        const { now, tat } = run(policy, start, events);
        const cost = Math.min(wanted, policy.burst);
        const result = gcra(tat, now, policy, cost);
        const probe = gcra(result.allowed ? result.tat : tat, now, policy, 0).remaining;
        assert.equal(probe, result.remaining);
        // `remaining` more unit requests fit right now, and not one more.
        let state = result.allowed ? result.tat : tat;
        for (let i = 0; i < result.remaining; i++) {
          const next = gcra(state, now, policy);
          assert.ok(next.allowed);
          state = next.tat;
        }
        assert.equal(gcra(state, now, policy).allowed, false);
        if (!result.allowed) {
          assert.ok(result.retryAfterMs >= 1);
          assert.ok(gcra(tat, now + result.retryAfterMs * 1000, policy, cost).allowed, "admitted at retry-after");
          assert.equal(gcra(tat, now + (result.retryAfterMs - 1) * 1000, policy, cost).allowed, false, "not 1 ms before");
          assert.ok(result.refillMs <= result.retryAfterMs);
        } else {
          assert.equal(result.retryAfterMs, 0);
        }
        const after = result.allowed ? result.tat : tat;
        if (result.remaining < policy.burst) {
          assert.ok(result.refillMs >= 1);
          assert.ok(gcra(after, now + result.refillMs * 1000, policy, 0).remaining > result.remaining);
          assert.equal(gcra(after, now + (result.refillMs - 1) * 1000, policy, 0).remaining, result.remaining);
        } else {
          assert.equal(result.refillMs, 0);
        }
        assert.equal(gcra(after, now + result.resetMs * 1000, policy, 0).remaining, policy.burst, "full at reset");
      }),
      RUNS,
    );
  });

  test("property: any state, even one no clock could produce (Redis failover stepping time back), reads sanely", () => {
    fc.assert(
      fc.property(policyArb, fc.integer({ min: -(2 ** 45), max: 2 ** 45 }), fc.integer({ min: 0, max: 30 }), (policy, ahead, cost) => {
        const result = gcra(EPOCH_US + ahead, EPOCH_US, policy, Math.min(cost, policy.burst));
        for (const value of [result.remaining, result.resetMs, result.refillMs, result.retryAfterMs]) {
          assert.ok(Number.isSafeInteger(value) && value >= 0, `${value}`);
        }
        assert.ok(result.remaining <= policy.burst);
      }),
      RUNS,
    );
  });

  test("contrast: a fixed window admits 2·limit across a boundary; GCRA admits burst", () => {
    const policy = parsePolicy("p", "100/minute");
    const periodUs = policy.periodMs * 1000;
    const fixedWindow = () => {
      const counts = new Map<number, number>();
      return (now: number) => {
        const window = Math.floor(now / periodUs);
        const count = counts.get(window) ?? 0;
        if (count >= policy.limit) return false;
        counts.set(window, count + 1);
        return true;
      };
    };
    // 150 requests 1 ms before a window boundary, 150 right on it: a 1 ms interval.
    const boundary = Math.ceil(EPOCH_US / periodUs) * periodUs;
    const arrivals = [...Array(150).fill(boundary - 1000), ...Array(150).fill(boundary)];
    const naive = fixedWindow();
    const naiveAdmitted = arrivals.filter((now) => naive(now)).length;
    let tat = 0;
    let gcraAdmitted = 0;
    for (const now of arrivals) {
      const result = gcra(tat, now, policy);
      if (result.allowed) {
        tat = result.tat;
        gcraAdmitted++;
      }
    }
    const bound = policy.burst + Math.floor(1000 / emissionIntervalUs(policy));
    assert.equal(naiveAdmitted, 200, "the fixed window lets through twice its limit within 1 ms");
    assert.ok(naiveAdmitted > bound);
    assert.equal(gcraAdmitted, 100);
    assert.ok(gcraAdmitted <= bound);
  });
});
