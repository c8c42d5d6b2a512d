/**
 * One suite every login-throttle store runs (memory, Redis): same calls, same answers. Each test gets a
 * fresh store and its own clock, so nothing sleeps and nothing leaks between tests.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LoginThrottlePolicy } from "../../../src/core/throttle/policy.ts";
import type { LoginThrottleStore } from "../../../src/core/throttle/store.ts";
import { createLoginThrottle } from "../../../src/core/throttle/throttle.ts";

export interface ContractTarget {
  /** `false` to run, or the reason to skip (from `serviceSkip`). */
  skip: false | string;
  /** A store no other test shares. */
  makeStore(): LoginThrottleStore;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

export function setup(target: ContractTarget, policy: Partial<LoginThrottlePolicy> = {}) {
  let t = 1_700_000_000_000;
  const clock = {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
  const throttle = createLoginThrottle({ store: target.makeStore(), policy, clock: clock.now });
  const fail = async (times: number, email = "alice@example.com", client = "203.0.113.7") => {
    let last: Awaited<ReturnType<typeof throttle.recordFailure>> | undefined;
    for (let i = 0; i < times; i++) last = await throttle.recordFailure(email, client);
    return last!;
  };
  return { throttle, clock, fail };
}

export function loginThrottleContract(name: string, target: ContractTarget): void {
  describe(`login throttle contract: ${name}`, { skip: target.skip }, () => {
    const alice = "alice@example.com";
    const ip = "203.0.113.7";

    it("allows a pair with no history", async () => {
      const { throttle } = setup(target);
      assert.deepEqual(await throttle.check(alice, ip), { allowed: true });
    });

    it("locks after 5 failures, not before", async () => {
      const { throttle, fail } = setup(target);
      const fourth = await fail(4);
      assert.deepEqual(fourth, { failures: 4, clientFailures: 4, locked: false, justLocked: false, retryAfterMs: 0 });
      assert.deepEqual(await throttle.check(alice, ip), { allowed: true });
      const fifth = await fail(1);
      assert.deepEqual(fifth, { failures: 5, clientFailures: 5, locked: true, justLocked: true, retryAfterMs: SECOND });
      assert.deepEqual(await throttle.check(alice, ip), { allowed: false, retryAfterMs: SECOND, scope: "pair" });
    });

    it("counts the lock down with the clock", async () => {
      const { throttle, clock, fail } = setup(target);
      await fail(5);
      clock.advance(400);
      assert.deepEqual(await throttle.check(alice, ip), { allowed: false, retryAfterMs: 600, scope: "pair" });
      clock.advance(600);
      assert.deepEqual(await throttle.check(alice, ip), { allowed: true });
    });

    it("keeps a locked pair locked when a success is attempted (the right password does not bypass it)", async () => {
      // In the login flow check() refuses first, so the password is never even verified; this is the race
      // where a success is recorded anyway: it must not unlock, nor clear the count.
      const { throttle, clock, fail } = setup(target);
      await fail(5);
      assert.deepEqual(await throttle.recordSuccess(alice, ip), { reset: false });
      assert.equal((await throttle.check(alice, ip)).allowed, false);
      clock.advance(SECOND);
      assert.equal((await fail(1)).retryAfterMs, 2 * SECOND, "the count survived the refused success");
    });

    it("resets the pair on a success once the lock has passed", async () => {
      const { throttle, clock, fail } = setup(target);
      await fail(5);
      clock.advance(SECOND);
      assert.deepEqual(await throttle.recordSuccess(alice, ip), { reset: true });
      assert.equal((await fail(4)).locked, false, "four free failures again");
      assert.equal((await fail(1)).retryAfterMs, SECOND, "and the back-off starts over");
    });

    it("doubles the lock with each further failure, up to the cap", async () => {
      const { clock, fail } = setup(target, { baseDelayMs: SECOND, maxDelayMs: 10 * SECOND });
      await fail(4);
      const delays: number[] = [];
      for (let i = 0; i < 7; i++) {
        const { retryAfterMs } = await fail(1);
        delays.push(retryAfterMs);
        clock.advance(retryAfterMs);
      }
      assert.deepEqual(delays, [1, 2, 4, 8, 10, 10, 10].map((s) => s * SECOND));
    });

    it("caps at 15 minutes by default, however many failures", async () => {
      const { clock, fail } = setup(target);
      await fail(4);
      let last = 0;
      for (let i = 0; i < 30; i++) {
        last = (await fail(1)).retryAfterMs;
        clock.advance(last);
      }
      assert.equal(last, 15 * MINUTE);
    });

    it("re-locks with a longer delay after the back-off passes", async () => {
      const { throttle, clock, fail } = setup(target);
      await fail(5);
      clock.advance(SECOND);
      assert.deepEqual(await throttle.check(alice, ip), { allowed: true });
      const again = await fail(1);
      assert.deepEqual([again.failures, again.justLocked, again.retryAfterMs], [6, true, 2 * SECOND]);
    });

    it("forgets failures after the window passes with no failure and no lock", async () => {
      const { clock, fail } = setup(target);
      await fail(4);
      clock.advance(15 * MINUTE - 1);
      assert.equal((await fail(1)).failures, 5, "still inside the window");
      // Locked for 1 s now: the window restarts from the lock's end.
      clock.advance(SECOND + 15 * MINUTE - 1);
      assert.equal((await fail(1)).failures, 6);
      clock.advance(2 * SECOND + 15 * MINUTE);
      const fresh = await fail(1);
      assert.deepEqual([fresh.failures, fresh.locked], [1, false]);
    });

    it("does not lock the same email from another client", async () => {
      // Attack: mallory fails on purpose for alice's email from her own address to lock alice out.
      const { throttle, fail } = setup(target);
      await fail(20, alice, "198.51.100.66");
      assert.equal((await throttle.check(alice, "198.51.100.66")).allowed, false);
      assert.deepEqual(await throttle.check(alice, ip), { allowed: true });
    });

    it("shares one counter across spellings of an email (trim, case)", async () => {
      const { throttle, fail } = setup(target);
      await fail(4, " Alice@Example.COM ");
      await fail(1, "alice@example.com");
      assert.equal((await throttle.check("ALICE@example.com", ip)).allowed, false);
    });

    it("locks a client spraying many emails until its window ends", async () => {
      const { throttle, clock, fail } = setup(target, { clientMaxFailures: 10, clientWindowMs: 60 * MINUTE });
      for (let i = 0; i < 9; i++) assert.equal((await fail(1, `user${i}@example.com`)).locked, false);
      clock.advance(10 * MINUTE);
      const tenth = await fail(1, "user9@example.com");
      assert.deepEqual([tenth.clientFailures, tenth.justLocked, tenth.retryAfterMs], [10, true, 50 * MINUTE]);
      assert.deepEqual(await throttle.check("never-tried@example.com", ip), {
        allowed: false,
        retryAfterMs: 50 * MINUTE,
        scope: "client",
      });
      assert.deepEqual(await throttle.check("never-tried@example.com", "192.0.2.1"), { allowed: true }, "other clients unaffected");
      clock.advance(50 * MINUTE);
      assert.deepEqual(await throttle.check("never-tried@example.com", ip), { allowed: true });
      assert.equal((await fail(1, "user10@example.com")).clientFailures, 1, "a new window");
    });

    it("does not reset the client counter on a success", async () => {
      // Attack: a sprayer logs into an account of its own between guesses to wipe its count.
      const { throttle, fail } = setup(target, { clientMaxFailures: 3 });
      await fail(2, "a@example.com");
      await throttle.recordSuccess("mallory@example.com", ip);
      assert.equal((await fail(1, "b@example.com")).locked, true);
    });

    it("reports the longer lock when both the pair and the client are locked", async () => {
      const { throttle, fail } = setup(target, { clientMaxFailures: 6, clientWindowMs: 60 * MINUTE });
      await fail(6);
      assert.deepEqual(await throttle.check(alice, ip), { allowed: false, retryAfterMs: 60 * MINUTE, scope: "client" });
    });
  });
}
