/**
 * Redis GCRA store, shared by every instance. One Lua script reads, decides and writes all stacked limits
 * of a request atomically in ONE round trip (ioredis `defineCommand`: EVALSHA, EVAL on NOSCRIPT).
 * - Time is Redis's (`TIME`), so instances whose clocks disagree cannot loosen a limit.
 * - Buckets are hash-tagged by identity (keys.ts), so one request's stack sits in one Cluster slot.
 * - Each bucket expires (PX) when its TAT passes: a full bucket carries no information.
 * - Never waits unboundedly: a client that is not ready fails at once, a ready one within `timeoutMs`.
 *   Then `failure: "open"` decides in a local memory store (counted, reported once per outage) and
 *   `"closed"` rejects with RAMPART_ERR_STORE_UNAVAILABLE (503). Never a crash, never a silent pass.
 * - Recovers by itself: ioredis keeps reconnecting and the next consume after `ready` uses Redis again.
 */
import type { Cluster, Redis } from "ioredis";
import { RampartError } from "../errors.ts";
import { createRedisClient, type RedisClient } from "../redis.ts";
import { decideStack } from "./decision.ts";
import { emissionIntervalUs } from "./gcra.ts";
import { bucketKey, keyIdentity } from "./keys.ts";
import { MemoryRateLimitStore, type MemoryStoreOptions } from "./memory-store.ts";
import { checkRequests, type LimitDecision, type LimitRequest, type RateLimitStore } from "./store.ts";
import { withTimeout } from "../timeout.ts";

// Mirrors gcra.ts (see there for the algorithm); returns {now, admitted, TAT of each bucket before}.
// KEYS[i]: bucket i. ARGV[1]: µs added to Redis time (0 but in tests). ARGV[2i], ARGV[2i+1]: cost·T, burst·T.
const GCRA_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2]) + tonumber(ARGV[1])
local tats, admitted = {}, 1
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i])) or 0
  tats[i] = tat
  if math.max(tat, now) + tonumber(ARGV[2 * i]) - now > tonumber(ARGV[2 * i + 1]) then admitted = 0 end
end
if admitted == 1 then
  for i = 1, #KEYS do
    local tat = math.max(tats[i], now) + tonumber(ARGV[2 * i])
    redis.call('SET', KEYS[i], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000))
  end
end
return {now, admitted, unpack(tats)}
`;

// Two stacks of two identities in one call (see consumePair): the first decided (and consumed) as above;
// the second only when the first admitted. ARGV[2]: how many KEYS belong to the first stack; then cost·T,
// burst·T per key. Returns {now, admitted1, admitted2, TATs before of the first stack, of the second}.
const GCRA_PAIR_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2]) + tonumber(ARGV[1])
local split = tonumber(ARGV[2])
local out = {now, 0, 0}
local function decide(first, last)
  local tats, admitted = {}, 1
  for i = first, last do
    local tat = tonumber(redis.call('GET', KEYS[i])) or 0
    tats[i - first + 1] = tat
    out[#out + 1] = tat
    if math.max(tat, now) + tonumber(ARGV[2 * i + 1]) - now > tonumber(ARGV[2 * i + 2]) then admitted = 0 end
  end
  if admitted == 1 then
    for i = first, last do
      local tat = math.max(tats[i - first + 1], now) + tonumber(ARGV[2 * i + 1])
      redis.call('SET', KEYS[i], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000))
    end
  end
  return admitted
end
out[2] = decide(1, split)
if out[2] == 1 then out[3] = decide(split + 1, #KEYS) end
return out
`;

const COMMAND = "rampartGcra";
const PAIR_COMMAND = "rampartGcraPair";
type GcraCommand = Record<typeof COMMAND | typeof PAIR_COMMAND, (numKeys: number, ...args: (string | number)[]) => Promise<unknown[]>>;

/** Two identities' stacks decided in one call; `second` is undefined when `first` refused. */
export interface PairDecision {
  readonly first: LimitDecision;
  readonly second: LimitDecision | undefined;
}

export type FailurePolicy = "open" | "closed";

export interface StoreUnavailableEvent {
  readonly error: unknown;
  readonly failure: FailurePolicy;
}

export interface StoreRecoveredEvent {
  /** Consumes that could not reach Redis during the outage. */
  readonly failures: number;
  readonly downtimeMs: number;
}

/** `url`: `redis://…`, or `redis+cluster://host1:port1,host2:port2` for a Redis Cluster (see core/redis.ts). */
export type RedisStoreOptions = ({ readonly client: Redis | Cluster; readonly url?: never } | { readonly url: string; readonly client?: never }) & {
  /** What to do when Redis cannot answer: decide locally (`open`) or refuse with 503 (`closed`). */
  readonly failure: FailurePolicy;
  /** Prepended to every bucket; must not contain `{` or `}`. Default `"rampart:rl:"`. */
  readonly prefix?: string;
  /** Longest wait for Redis per consume. Default 100 ms. */
  readonly timeoutMs?: number;
  /** The local store used when failing open. Default 100,000 keys, `Date.now`. */
  readonly fallback?: MemoryStoreOptions;
  /** Called once when Redis becomes unreachable (not per request: an outage must not flood the log). */
  readonly onUnavailable?: (event: StoreUnavailableEvent) => void;
  /** Called once when Redis answers again. */
  readonly onRecovered?: (event: StoreRecoveredEvent) => void;
  /** Added to Redis's clock, ms. For tests only: lets them move time forward without sleeping. */
  readonly clockOffsetMs?: () => number;
};

export interface RedisStoreStats {
  /** Script calls sent to Redis: exactly one per consume that reached it. */
  readonly roundTrips: number;
  /** Consumes that could not reach Redis. */
  readonly failures: number;
  /** Consumes decided by the local fallback store. */
  readonly fallbacks: number;
  readonly available: boolean;
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly #client: Redis | Cluster;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #failure: FailurePolicy;
  readonly #fallback: MemoryRateLimitStore;
  readonly #options: RedisStoreOptions;
  #roundTrips = 0;
  #failures = 0;
  #fallbacks = 0;
  #outage: { since: number; failures: number } | undefined;
  #connecting: { promise: Promise<void>; settle: () => void } | undefined;

  /** @throws TypeError naming the bad option. */
  constructor(options: RedisStoreOptions) {
    const { prefix = "rampart:rl:", timeoutMs = 100, failure } = options;
    if (failure !== "open" && failure !== "closed") {
      throw new TypeError(`redis rate-limit store: "failure" option must be "open" or "closed", got ${JSON.stringify(failure)}`);
    }
    if (typeof prefix !== "string" || /[{}]/.test(prefix)) {
      throw new TypeError('redis rate-limit store: "prefix" option must be a string without "{" or "}"');
    }
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 60_000) {
      throw new TypeError(`redis rate-limit store: "timeoutMs" option must be an integer from 1 to 60000, got ${timeoutMs}`);
    }
    if (!options.client && typeof options.url !== "string") {
      throw new TypeError('redis rate-limit store: give either a "client" or a "url" option');
    }
    this.#owned = !options.client;
    this.#client = options.client ?? connect(options.url!, timeoutMs);
    this.#client.defineCommand(COMMAND, { lua: GCRA_LUA });
    this.#client.defineCommand(PAIR_COMMAND, { lua: GCRA_PAIR_LUA });
    this.#connecting = this.#firstConnection();
    this.#prefix = prefix;
    this.#timeoutMs = timeoutMs;
    this.#failure = failure;
    this.#fallback = new MemoryRateLimitStore(options.fallback);
    this.#options = options;
  }

  async consume(requests: readonly LimitRequest[]): Promise<LimitDecision> {
    checkRequests(requests);
    let reply: unknown[];
    try {
      reply = await this.#call(requests);
    } catch (error) {
      return this.#unavailable(requests, error);
    }
    this.#recovered();
    const [now, admitted, ...tats] = reply.map(Number);
    return this.#decided(requests, tats, now!, admitted!, reply);
  }

  /** The decision gcra.ts makes from the TATs the script read; it must agree with the script's. */
  #decided(requests: readonly LimitRequest[], tats: readonly number[], now: number, admitted: number, reply: unknown[]): LimitDecision {
    const { decision } = decideStack(requests, tats, now);
    if (decision.allowed !== (admitted === 1) || tats.length !== requests.length) {
      throw new RampartError("RAMPART_ERR_INTERNAL", { reason: `redis rate-limit script disagrees with gcra.ts: ${JSON.stringify(reply)}` });
    }
    return decision;
  }

  /**
   * Whether `consumePair` can decide two identities in one call: a single Redis can; a Cluster cannot
   * (their buckets live in different slots), so there each identity costs its own round trip.
   */
  get decidesPairs(): boolean {
    return !(this.#client as { isCluster?: boolean }).isCluster;
  }

  /**
   * Decides `first` (the per-IP stack) and, only if it admits, `second` (the per-principal stack) in ONE
   * round trip, with exactly the semantics of two consecutive `consume` calls: a refused first stack
   * consumes nothing and leaves the second untouched. Only when `decidesPairs`.
   */
  async consumePair(first: readonly LimitRequest[], second: readonly LimitRequest[]): Promise<PairDecision> {
    checkRequests(first);
    checkRequests(second);
    let reply: unknown[];
    try {
      reply = await this.#call([...first, ...second], PAIR_COMMAND, first.length);
    } catch (error) {
      const decided = this.#unavailable(first, error);
      return { first: decided, second: decided.allowed ? this.#fallback.consume(second) : undefined };
    }
    this.#recovered();
    const [now, admittedFirst, admittedSecond, ...tats] = reply.map(Number);
    const firstDecision = this.#decided(first, tats.slice(0, first.length), now!, admittedFirst!, reply);
    if (!firstDecision.allowed) return { first: firstDecision, second: undefined };
    return { first: firstDecision, second: this.#decided(second, tats.slice(first.length), now!, admittedSecond!, reply) };
  }

  /** Whether this store's own connection answers now (readiness); rejects when it does not. */
  async ping(): Promise<void> {
    await withTimeout(this.#client.ping(), Math.max(this.#timeoutMs, 1000), "the rate-limit store's Redis");
  }

  stats(): RedisStoreStats {
    return { roundTrips: this.#roundTrips, failures: this.#failures, fallbacks: this.#fallbacks, available: !this.#outage };
  }

  /** Closes the connection if this store opened it (from `url`); a caller's `client` stays open. */
  async close(): Promise<void> {
    this.#connecting?.settle();
    if (this.#owned) {
      if (this.#client.status === "ready") await withTimeout(this.#client.quit(), this.#timeoutMs, "redis").catch(() => {});
      this.#client.disconnect();
    }
    await this.#fallback.close();
  }

  /** `split`: for the pair script, how many of `requests` form the first stack (ARGV[2]). */
  async #call(requests: readonly LimitRequest[], command: typeof COMMAND | typeof PAIR_COMMAND = COMMAND, split?: number): Promise<unknown[]> {
    if (this.#connecting) await withTimeout(this.#connecting.promise, this.#timeoutMs, "redis");
    const status = this.#client.status;
    // Not connected: fail now rather than queue, so an outage costs requests nothing but the fallback.
    if (status !== "ready") throw new Error(`redis connection is ${status}`);
    const n = requests.length;
    const extra = split === undefined ? 0 : 1;
    const args: (string | number)[] = new Array(n * 3 + 1 + extra);
    args[n] = Math.round((this.#options.clockOffsetMs?.() ?? 0) * 1000);
    if (split !== undefined) args[n + 1] = split;
    requests.forEach((request, i) => {
      const identity = keyIdentity(request.key);
      const interval = emissionIntervalUs(request.policy);
      args[i] = `${this.#prefix}{${identity}}${bucketKey(request.key, request.policy).slice(identity.length)}`;
      args[n + 1 + extra + 2 * i] = (request.cost ?? 1) * interval;
      args[n + 2 + extra + 2 * i] = request.policy.burst * interval;
    });
    this.#roundTrips++;
    return withTimeout((this.#client as unknown as GcraCommand)[command](n, ...args), this.#timeoutMs, "redis");
  }

  /**
   * Consumes wait (at most `timeoutMs`) for the first connection attempt only, so a fresh instance does
   * not refuse or fall back on its first requests; once an attempt has failed, outages fail fast.
   */
  #firstConnection(): { promise: Promise<void>; settle: () => void } | undefined {
    const client = this.#client;
    if (client.status === "ready") return undefined;
    let settle = () => {};
    const promise = new Promise<void>((resolve) => {
      settle = () => {
        for (const event of ["ready", "error", "end"]) client.off(event, settle);
        this.#connecting = undefined;
        resolve();
      };
      for (const event of ["ready", "error", "end"]) client.once(event, settle);
    });
    // A lazyConnect client nobody has used yet would otherwise never connect.
    if (client.status === "wait") client.connect().catch(() => {});
    return { promise, settle };
  }

  #unavailable(requests: readonly LimitRequest[], error: unknown): LimitDecision {
    this.#failures++;
    if (this.#outage) this.#outage.failures++;
    else {
      this.#outage = { since: Date.now(), failures: 1 };
      this.#options.onUnavailable?.({ error, failure: this.#failure });
    }
    if (this.#failure === "closed") throw redisUnavailable(`redis rate-limit store: ${messageOf(error)}`, error);
    this.#fallbacks++;
    return this.#fallback.consume(requests);
  }

  #recovered(): void {
    if (!this.#outage) return;
    const { since, failures } = this.#outage;
    this.#outage = undefined;
    this.#options.onRecovered?.({ failures, downtimeMs: Date.now() - since });
  }
}

/** Seconds a client is told to wait when Redis is down and the policy is to fail closed. */
const REDIS_RETRY_AFTER_SECONDS = 2;

/** The 503 for "Redis is down and failurePolicy is closed", with Retry-After (rate limits, revocations). */
export function redisUnavailable(reason: string, cause?: unknown): RampartError {
  return new RampartError("RAMPART_ERR_STORE_UNAVAILABLE", {
    reason,
    ...(cause === undefined ? {} : { cause }),
    headers: { "retry-after": String(REDIS_RETRY_AFTER_SECONDS) },
  });
}

function connect(url: string, timeoutMs: number): RedisClient {
  const client = createRedisClient(url, {
    enableOfflineQueue: false, // while disconnected, fail at once instead of queueing without bound
    maxRetriesPerRequest: 0,
    // A consume given up on after timeoutMs was already answered (503, or decided locally); re-sending
    // it on reconnect would charge the client for requests it never got.
    autoResendUnfulfilledCommands: false,
    connectTimeout: Math.max(timeoutMs * 10, 1000),
    disconnectTimeout: timeoutMs, // on close(), do not keep the process alive 2 s for a dead socket
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000), // never give up: recover when Redis returns
  });
  // Without a listener ioredis prints every connection error; the store reports outages itself.
  client.on("error", () => {});
  return client;
}


function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
