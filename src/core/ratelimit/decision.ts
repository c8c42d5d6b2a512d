/**
 * Decides a stack of limits from their current TATs: every store (memory, and Redis after its Lua script
 * has read the TATs atomically) builds its decision here, so all stores report identical numbers.
 */
import { type GcraResult, gcra } from "./gcra.ts";
import type { LimitDecision, LimitRequest, PolicyResult } from "./store.ts";

export interface StackDecision {
  readonly decision: LimitDecision;
  /** The TATs to write, in request order; only meaningful when `decision.allowed`. */
  readonly tats: readonly number[];
}

/** All-or-nothing: the stack is admitted only if every policy admits it; otherwise nothing is consumed. */
export function decideStack(requests: readonly LimitRequest[], tats: ArrayLike<number>, nowUs: number): StackDecision {
  const outcomes: GcraResult[] = new Array(requests.length);
  let allowed = true;
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i]!;
    const outcome = gcra(tats[i]!, nowUs, request.policy, request.cost ?? 1);
    outcomes[i] = outcome;
    if (!outcome.allowed) allowed = false;
  }
  if (!allowed) {
    // Policies that would have admitted report their state without this request's cost: nothing is stored.
    for (let i = 0; i < requests.length; i++) {
      if (outcomes[i]!.allowed) outcomes[i] = gcra(tats[i]!, nowUs, requests[i]!.policy, 0);
    }
  }
  const results = outcomes.map((outcome, i): PolicyResult => ({
    key: requests[i]!.key,
    policy: requests[i]!.policy,
    allowed: outcome.allowed,
    remaining: outcome.remaining,
    resetMs: outcome.resetMs,
    refillMs: outcome.refillMs,
    retryAfterMs: outcome.retryAfterMs,
  }));
  const violated = allowed ? undefined : pick(results, (a, b) => a.retryAfterMs > b.retryAfterMs);
  const closest = violated ?? pick(results, (a, b) => a.remaining < b.remaining || (a.remaining === b.remaining && a.refillMs > b.refillMs));
  return {
    decision: { allowed, results, closest, violated, retryAfterMs: violated?.retryAfterMs ?? 0 },
    tats: outcomes.map((outcome) => outcome.tat),
  };
}

function pick(results: readonly PolicyResult[], better: (a: PolicyResult, b: PolicyResult) => boolean): PolicyResult {
  let best = results[0]!;
  for (const result of results) if (better(result, best)) best = result;
  return best;
}
