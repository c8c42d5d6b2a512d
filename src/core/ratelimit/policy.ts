/**
 * Rate-limit policies, parsed once at load time: `"10/second"`, `"1000/hour"`, `"20/minute burst 40"`,
 * `"5/15minutes"`. A policy is a long-run rate (`limit` per `periodMs`) and a bucket size (`burst`, how
 * many requests a fresh client may send at once; defaults to `limit`).
 */

export interface RateLimitPolicy {
  /** Names the policy in `RateLimit` / `RateLimit-Policy` headers and in 429 bodies. */
  readonly name: string;
  readonly limit: number;
  /** Always a whole number of seconds: the header `w` parameter has no sub-second precision. */
  readonly periodMs: number;
  readonly burst: number;
}

export interface PolicyInput {
  readonly name: string;
  readonly limit: number;
  readonly periodMs: number;
  /** Defaults to `limit`. */
  readonly burst?: number;
}

const UNIT_MS = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const SPEC = /^(\d+)\s*\/\s*(\d*)\s*(second|minute|hour|day)s?(?:\s+burst\s+(\d+))?$/;
const SPEC_HELP = 'expected "<limit>/[<n>]<second|minute|hour|day>[ burst <n>]", e.g. "10/second", "5/15minutes", "20/minute burst 40"';

// RFC 8941 §3.1.2 key grammar: names are emitted as header values and used inside storage keys.
const NAME = /^[a-z*][a-z0-9_\-.*]*$/;

// GCRA works in integer microseconds; burst·T must stay far below 2^53 once added to an epoch in µs.
const MAX_WINDOW_US = 2 ** 50;

/**
 * Parses `spec` into a policy named `name`.
 * @throws TypeError naming the policy and the bad input.
 * @example parsePolicy("login", "5/15minutes") // { name: "login", limit: 5, periodMs: 900000, burst: 5 }
 */
export function parsePolicy(name: string, spec: string): RateLimitPolicy {
  const match = typeof spec === "string" ? SPEC.exec(spec.trim()) : null;
  if (!match) throw new TypeError(`rate-limit policy "${name}": cannot parse ${JSON.stringify(spec)}; ${SPEC_HELP}`);
  const [, limit, multiplier, unit, burst] = match;
  const periodMs = (multiplier ? Number(multiplier) : 1) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return definePolicy({ name, limit: Number(limit), periodMs, burst: burst === undefined ? undefined : Number(burst) });
}

/**
 * Validates a policy given as numbers and returns it frozen, `burst` defaulted to `limit`.
 * @throws TypeError naming the policy and the field that is wrong.
 */
export function definePolicy(input: PolicyInput): RateLimitPolicy {
  const { name, limit, periodMs } = input;
  const burst = input.burst ?? limit;
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(`rate-limit policy name ${JSON.stringify(name)} must match ${NAME} (an RFC 8941 key)`);
  }
  const fail = (what: string) => new TypeError(`rate-limit policy "${name}": ${what}`);
  if (!isPositiveInteger(limit)) throw fail(`limit must be an integer >= 1, got ${limit}`);
  if (!isPositiveInteger(burst)) throw fail(`burst must be an integer >= 1, got ${burst}`);
  if (!isPositiveInteger(periodMs) || periodMs % 1000 !== 0) {
    throw fail(`period must be a whole number of seconds, got ${periodMs} ms`);
  }
  const intervalUs = Math.ceil((periodMs * 1000) / limit);
  if (limit > periodMs * 1000) throw fail(`limit ${limit} per ${periodMs} ms is finer than one request per microsecond`);
  if (burst * intervalUs > MAX_WINDOW_US) throw fail(`burst ${burst} spans more than ${MAX_WINDOW_US} µs of quota`);
  return Object.freeze({ name, limit, periodMs, burst });
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 1;
}
