/**
 * Redis store: state shared by every instance, each operation one atomic Lua script (one round trip).
 * Keys are `<prefix>{<client>}:p:<email>` and `<prefix>{<client>}:c`: the hash tag puts a pair and its
 * client in one cluster slot, which a multi-key script needs.
 *
 * When Redis fails or does not answer within `timeoutMs`, `failurePolicy` decides, never a hang and never
 * a silent pass: `open` runs the operation on a local memory store and calls `onFallback` (log it loudly:
 * limits are then per instance), `closed` throws RAMPART_ERR_STORE_UNAVAILABLE (503).
 */
import { createHash } from "node:crypto";
import { RampartError } from "../errors.ts";
import type { ThrottleKeys } from "./keys.ts";
import { createMemoryLoginThrottleStore, type MemoryLoginThrottleStore } from "./memory-store.ts";
import type { LoginThrottlePolicy } from "./policy.ts";
import { CHECK, FAILURE, SUCCESS } from "./redis-scripts.ts";
import { type CheckResult, type FailureResult, failureResult, verdict } from "./state.ts";
import type { LoginThrottleStore } from "./store.ts";
import { withTimeout } from "../timeout.ts";

/** The part of an ioredis client this store uses; the caller owns the client (and closes it). */
export interface RedisScriptClient {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface RedisLoginThrottleStoreOptions {
  client: RedisScriptClient;
  /** No default: whether a Redis outage weakens or refuses logins is a decision to make explicitly. */
  failurePolicy: "open" | "closed";
  /** Called with the Redis error each time an operation falls back (policy `open`). */
  onFallback?: (error: unknown) => void;
  /** Used when falling back. Default: a memory store with default bounds. */
  fallback?: MemoryLoginThrottleStore;
  /** Default `rampart:login:`. Must not contain `{` or `}` (they would move the hash tag). */
  prefix?: string;
  /** Longest wait for one operation. Default 250 ms. */
  timeoutMs?: number;
}

type Script = { readonly lua: string; readonly sha: string };
const script = (lua: string): Script => ({ lua, sha: createHash("sha1").update(lua).digest("hex") });
const SCRIPTS = { check: script(CHECK), failure: script(FAILURE), success: script(SUCCESS) };

/**
 * @throws TypeError on invalid options.
 * @example createRedisLoginThrottleStore({ client: new Redis(url), failurePolicy: "closed" })
 */
export function createRedisLoginThrottleStore(options: RedisLoginThrottleStoreOptions): LoginThrottleStore {
  const { client, failurePolicy, onFallback } = options;
  const prefix = options.prefix ?? "rampart:login:";
  const timeoutMs = options.timeoutMs ?? 250;
  if (failurePolicy !== "open" && failurePolicy !== "closed") throw new TypeError('"failurePolicy" must be "open" or "closed"');
  if (/[{}]/.test(prefix)) throw new TypeError('"prefix" must not contain "{" or "}"');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new TypeError('"timeoutMs" must be an integer >= 1');
  const fallback = options.fallback ?? createMemoryLoginThrottleStore();

  const keysOf = (k: ThrottleKeys) => [`${prefix}{${k.client}}:p:${k.email}`, `${prefix}{${k.client}}:c`];

  async function evaluate({ lua, sha }: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      // First use on this server (or after SCRIPT FLUSH): EVAL loads it, later calls hit EVALSHA.
      if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
      return await client.eval(lua, keys.length, ...keys, ...args);
    }
  }

  async function run<T>(operation: string, remote: () => Promise<T>, local: () => T): Promise<T> {
    try {
      return await withTimeout(remote(), timeoutMs, "redis");
    } catch (error) {
      if (failurePolicy === "closed") {
        throw new RampartError("RAMPART_ERR_STORE_UNAVAILABLE", { reason: `login throttle: redis ${operation} failed`, cause: error });
      }
      onFallback?.(error);
      return local();
    }
  }

  return {
    check(keys, now): Promise<CheckResult> {
      return run(
        "check",
        async () => {
          const [pairMs, clientMs] = (await evaluate(SCRIPTS.check, keysOf(keys), [now])) as unknown[];
          return verdict(Number(pairMs), Number(clientMs));
        },
        () => fallback.check(keys, now),
      );
    },
    recordFailure(keys, now, policy: LoginThrottlePolicy): Promise<FailureResult> {
      const args = [
        now,
        policy.freeFailures,
        policy.failureWindowMs,
        policy.baseDelayMs,
        policy.maxDelayMs,
        policy.clientMaxFailures,
        policy.clientWindowMs,
      ];
      return run(
        "recordFailure",
        async () => {
          const [failures, clientFailures, pairMs, clientMs] = (await evaluate(SCRIPTS.failure, keysOf(keys), args)) as unknown[];
          return failureResult(Number(failures), Number(clientFailures), Number(pairMs), Number(clientMs), policy);
        },
        () => fallback.recordFailure(keys, now, policy),
      );
    },
    recordSuccess(keys, now): Promise<boolean> {
      return run(
        "recordSuccess",
        async () => Number(await evaluate(SCRIPTS.success, keysOf(keys).slice(0, 1), [now])) === 1,
        () => fallback.recordSuccess(keys, now),
      );
    },
    close() {
      fallback.close();
    },
  };
}
