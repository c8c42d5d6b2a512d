/**
 * The local deny list every instance consults on each request: three O(1) map lookups, no allocation.
 * Entries live only as long as a token they could match can still verify, so the list stays bounded by
 * the revocation rate × access-token lifetime; expired entries are swept lazily as new ones arrive.
 * Revocations made here are announced to `onRevoke` listeners (a Redis pub/sub layer broadcasts them);
 * revocations received from elsewhere arrive through `load`, which does not announce, so nothing echoes.
 */

/** Times are epoch seconds, like JWT claims. */
export type RevocationEntry =
  | { readonly kind: "jti"; readonly jti: string; readonly until: number }
  | { readonly kind: "sid"; readonly sid: string; readonly until: number }
  | { readonly kind: "user"; readonly sub: string; readonly before: number; readonly until: number };

/** The claims a check needs; verified access-token claims fit as they are. */
export interface RevocationSubject {
  readonly jti: string;
  readonly sid?: string | undefined;
  readonly sub: string;
  readonly iat: number;
}

export interface RevocationList {
  isRevoked(token: RevocationSubject): boolean;
  /** Revokes one token until its `exp` (+ tolerance), after which it is dead anyway. */
  revokeJti(jti: string, exp: number): void;
  /** Revokes every token of a session issued up to now, until the last of them has expired. */
  revokeSid(sid: string, at?: number): void;
  /** Revokes the user's tokens with `iat < before`; kept until `until` (default: before + lifetime + tolerance). */
  revokeUserBefore(sub: string, before: number, until?: number): void;
  /** Warms from storage or applies a broadcast from another instance; listeners are not called. */
  load(entries: Iterable<RevocationEntry>): void;
  /** Called after each local revocation. Returns an unsubscribe function. */
  onRevoke(listener: (entry: RevocationEntry) => void): () => void;
  /** Drops expired entries now; returns how many were dropped. */
  purge(): number;
  readonly size: number;
}

export interface RevocationListOptions {
  /** Seconds. Default 600. */
  accessTokenLifetime?: number;
  /** Seconds the verifier tolerates past `exp`. Default 5. */
  clockTolerance?: number;
  /** Seconds between sweeps of expired entries. Default 60. */
  purgeInterval?: number;
  /** Epoch milliseconds; defaults to `Date.now`. */
  clock?: () => number;
}

interface UserCutoff {
  before: number;
  until: number;
}

function option(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`"${name}" must be a non-negative integer`);
  return value;
}

function checkId(name: string, value: unknown): void {
  if (typeof value !== "string" || value === "") throw new TypeError(`"${name}" must be a non-empty string`);
}

function checkTime(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value)) throw new TypeError(`"${name}" must be a finite number of seconds`);
}

export function createRevocationList(options: RevocationListOptions = {}): RevocationList {
  const lifetime = option("accessTokenLifetime", options.accessTokenLifetime ?? 600);
  const tolerance = option("clockTolerance", options.clockTolerance ?? 5);
  const purgeInterval = option("purgeInterval", options.purgeInterval ?? 60);
  const clock = options.clock ?? Date.now;
  const jtis = new Map<string, number>();
  const sids = new Map<string, number>();
  const users = new Map<string, UserCutoff>();
  const listeners = new Set<(entry: RevocationEntry) => void>();
  let nextPurge = clock() / 1000 + purgeInterval;

  const nowSeconds = () => clock() / 1000;

  function purge(): number {
    const now = nowSeconds();
    const before = jtis.size + sids.size + users.size;
    for (const [k, until] of jtis) if (until < now) jtis.delete(k);
    for (const [k, until] of sids) if (until < now) sids.delete(k);
    for (const [k, cut] of users) if (cut.until < now) users.delete(k);
    nextPurge = now + purgeInterval;
    return before - (jtis.size + sids.size + users.size);
  }

  /** Merges an entry (the later deadline wins); false when it has already expired. */
  function apply(entry: RevocationEntry): boolean {
    checkTime("until", entry.until);
    const now = nowSeconds();
    if (now >= nextPurge) purge();
    if (entry.until < now) return false;
    if (entry.kind === "jti") {
      checkId("jti", entry.jti);
      jtis.set(entry.jti, Math.max(entry.until, jtis.get(entry.jti) ?? 0));
    } else if (entry.kind === "sid") {
      checkId("sid", entry.sid);
      sids.set(entry.sid, Math.max(entry.until, sids.get(entry.sid) ?? 0));
    } else if (entry.kind === "user") {
      checkId("sub", entry.sub);
      checkTime("before", entry.before);
      const cut = users.get(entry.sub);
      users.set(entry.sub, { before: Math.max(entry.before, cut?.before ?? 0), until: Math.max(entry.until, cut?.until ?? 0) });
    } else {
      throw new TypeError(`unknown revocation kind "${(entry as { kind: unknown }).kind}"`);
    }
    return true;
  }

  function announce(entry: RevocationEntry): void {
    if (!apply(entry)) return;
    const failures: unknown[] = [];
    for (const listener of listeners) {
      try {
        listener(entry);
      } catch (error) {
        failures.push(error);
      }
    }
    // The local revocation stands either way; the caller learns the broadcast failed.
    if (failures.length > 0) throw new AggregateError(failures, "revocation listener failed");
  }

  return {
    isRevoked(token) {
      const now = clock() / 1000;
      const jtiUntil = jtis.get(token.jti);
      if (jtiUntil !== undefined && now <= jtiUntil) return true;
      if (token.sid !== undefined) {
        const sidUntil = sids.get(token.sid);
        if (sidUntil !== undefined && now <= sidUntil) return true;
      }
      const cut = users.get(token.sub);
      return cut !== undefined && now <= cut.until && token.iat < cut.before;
    },
    revokeJti: (jti, exp) => {
      checkTime("exp", exp);
      announce({ kind: "jti", jti, until: exp + tolerance });
    },
    revokeSid: (sid, at = Math.floor(nowSeconds())) => {
      checkTime("at", at);
      announce({ kind: "sid", sid, until: at + lifetime + tolerance });
    },
    revokeUserBefore: (sub, before, until = before + lifetime + tolerance) => announce({ kind: "user", sub, before, until }),
    load(entries) {
      for (const entry of entries) apply(entry);
    },
    onRevoke(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    purge,
    get size() {
      return jtis.size + sids.size + users.size;
    },
  };
}
