/**
 * argon2id password hashing through @node-rs/argon2's async API, whose work runs on the libuv thread
 * pool, never on the event loop. Passwords are NFKC-normalised here, so no caller can forget.
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { type Algorithm, hash, parseOptions, verify, type Version } from "@node-rs/argon2";
import { normalisePassword } from "./normalise.ts";

// The package's enums are ambient `const enum`s, which isolatedModules cannot read: use their values.
const ARGON2ID = 2 as Algorithm;
const VERSION_0X13 = 1 as Version;

/** OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1. */
export const OWASP_ARGON2ID = Object.freeze({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });

export interface PasswordHasherOptions {
  /** KiB. Default 19 456 (19 MiB). */
  memoryCost?: number;
  /** Passes. Default 2. */
  timeCost?: number;
  /** Lanes. Default 1. */
  parallelism?: number;
  /**
   * Hashes computed at once; the rest wait their turn. Default: one fewer than the CPU count (at least
   * one), so a login storm always leaves a core to the event loop and cheap routes stay responsive.
   */
  maxConcurrent?: number;
}

export interface PasswordHasher {
  /** A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`). */
  hash(password: string): Promise<string>;
  /** False for a wrong password and for a malformed or foreign hash; never throws for those. */
  verify(hash: string, password: string): Promise<boolean>;
  /** True when the hash was made with other parameters (or is not argon2id v19): rehash at next login. */
  needsRehash(hash: string): boolean;
  /**
   * Always false, after the same work as `verify` at the same parameters: the unknown-email path, so a
   * wrong email and a wrong password take the same time (account enumeration by timing).
   */
  verifyAgainstDummy(password: string): Promise<false>;
}

function integer(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new TypeError(`"${name}" must be an integer from ${min} to ${max}`);
  return value;
}

export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const parallelism = integer("parallelism", options.parallelism ?? OWASP_ARGON2ID.parallelism, 1, 255);
  const params = Object.freeze({
    algorithm: ARGON2ID,
    version: VERSION_0X13,
    memoryCost: integer("memoryCost", options.memoryCost ?? OWASP_ARGON2ID.memoryCost, 8 * parallelism, 2 ** 32 - 1),
    timeCost: integer("timeCost", options.timeCost ?? OWASP_ARGON2ID.timeCost, 1, 2 ** 32 - 1),
    parallelism,
  });
  let dummy: Promise<string> | undefined;
  const limit = createLimiter(integer("maxConcurrent", options.maxConcurrent ?? Math.max(1, availableParallelism() - 1), 1, 1024));

  const hasher: PasswordHasher = {
    hash: (password) => limit(() => hash(normalisePassword(password), params)),
    async verify(stored, password) {
      if (typeof stored !== "string" || typeof password !== "string") return false;
      try {
        return await limit(() => verify(stored, normalisePassword(password)));
      } catch {
        return false;
      }
    },
    needsRehash(stored) {
      try {
        const p = parseOptions(stored);
        return p.algorithm !== ARGON2ID || p.version !== VERSION_0X13 || p.memoryCost !== params.memoryCost || p.timeCost !== params.timeCost || p.parallelism !== params.parallelism;
      } catch {
        return true;
      }
    },
    async verifyAgainstDummy(password) {
      // Computed once, lazily, at this hasher's parameters, from a secret nobody knows.
      dummy ??= hasher.hash(randomBytes(32).toString("base64url")).catch((error) => {
        dummy = undefined;
        throw error;
      });
      await hasher.verify(await dummy, password);
      return false;
    },
  };
  return hasher;
}

/** A counting semaphore: at most `max` tasks run at once, the others start in arrival order. */
export function createLimiter(max: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async function limit<T>(task: () => Promise<T>): Promise<T> {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
