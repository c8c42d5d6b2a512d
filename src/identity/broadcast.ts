/**
 * Keeps instances that share one Redis in agreement without a round trip on the hot path: every
 * revocation and every change to a user or role is published once; each instance applies what the
 * others publish to its own in-memory deny list and caches. A revoked token is dead everywhere within
 * the pub/sub delivery time (sub-millisecond on a LAN), and storage remains the source of truth
 * (instances warm their deny list from it at start).
 *
 * Pub/sub forgets: an instance that is not subscribed (Redis down, restarted, a network cut) misses what
 * is published meanwhile. So an instance is "in sync" only from the moment it is subscribed AND has
 * caught up from the source of truth (`resync`) after that; until then `inSync` is false and the caller
 * must not trust its local deny list and caches alone (see IdentityContext.revocationsInSync).
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { duplicateRedisClient, type RedisClient } from "../core/redis.ts";
import type { RevocationEntry, RevocationList } from "../core/revocation.ts";
import type { Telemetry } from "../core/telemetry.ts";

export const CHANNEL = "rampart:events";
/**
 * Revocations still in force, scored by the epoch second they lapse: a service that starts later (a
 * verify-only one has no database to warm from) loads them before it accepts a token.
 */
export const REVOCATION_BACKLOG = "rampart:revocations";

type Event =
  | { kind: "revocation"; entry: RevocationEntry }
  | { kind: "user"; id: string }
  | { kind: "roles" };

export interface Broadcaster {
  /**
   * True while subscribed and caught up: every revocation made anywhere is either in the local list
   * already or on its way through the subscription. False from the moment the subscription drops until
   * `resync` has completed after the next subscription.
   */
  readonly inSync: boolean;
  userChanged(id: string): void;
  rolesChanged(): void;
  /**
   * Resolves once every event published so far has reached Redis. Redis hands a message to all
   * subscribers before it answers the publisher, so a request that awaits this before answering
   * (logout, password change, disabling a user) leaves no window in which another instance, asked
   * after that answer, has not been told.
   */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface BroadcastTargets {
  revocations: RevocationList;
  invalidateUser(id: string): void;
  reloadRoles(): Promise<void>;
  /**
   * Catches up on whatever may have been published while this instance was not subscribed: reload the
   * revocations in force and drop cached state (from storage, or the Redis backlog for a verify-only
   * service). Called after every (re)subscription; the instance is in sync once it resolves.
   */
  resync(): Promise<void>;
  /** Told whenever the instance falls out of sync or gets back in (metrics, logs). */
  onSyncChange?: (inSync: boolean) => void;
  /** Counts revocations received and how long they took to arrive. */
  telemetry?: Pick<Telemetry, "revocationApplied" | "broadcastLag">;
}

const RESYNC_RETRY_MS = 1000;

export function startBroadcast(publisher: RedisClient, targets: BroadcastTargets, logger: Logger): Broadcaster {
  const origin = randomUUID();
  // trackSync subscribes again on every `ready`, with its errors handled; ioredis's own resubscription
  // would race it and, if the connection dropped again first, end in an unhandled "Connection is closed".
  // (A Cluster resubscribes through its own subscriber connection: left as it is.)
  const standalone = !(publisher as { isCluster?: boolean }).isCluster;
  const subscriber = duplicateRedisClient(publisher, {
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    ...(standalone ? { autoResubscribe: false } : {}),
  });
  subscriber.on("error", (error) => logger.warn({ err: { message: error.message } }, "broadcast subscriber error"));

  const pending = new Set<Promise<unknown>>();
  const publish = (event: Event) => {
    const message = JSON.stringify({ origin, at: Date.now(), ...event });
    const delivery =
      event.kind === "revocation"
        ? publisher
            .multi()
            .zadd(REVOCATION_BACKLOG, event.entry.until, JSON.stringify(event.entry))
            .zremrangebyscore(REVOCATION_BACKLOG, "-inf", Math.floor(Date.now() / 1000))
            .publish(CHANNEL, message)
            .exec()
        : publisher.publish(CHANNEL, message);
    const sent = delivery
      .catch((error) => {
        logger.error({ err: error, kind: event.kind }, "could not broadcast a security event; other instances learn it from storage on restart");
      })
      .finally(() => pending.delete(sent));
    pending.add(sent);
  };
  const unsubscribe = targets.revocations.onRevoke((entry) => publish({ kind: "revocation", entry }));

  subscriber.on("message", (_channel, text: string) => {
    let event: (Event & { origin?: string; at?: number }) | undefined;
    try {
      event = JSON.parse(text);
    } catch {
      return;
    }
    if (!event || event.origin === origin) return;
    if (event.kind === "revocation") {
      targets.revocations.load([event.entry]);
      targets.telemetry?.revocationApplied("broadcast");
      // Clocks of two hosts: a lag is only as good as their NTP; a negative one is reported as 0.
      if (typeof event.at === "number") targets.telemetry?.broadcastLag(Math.max(0, Date.now() - event.at) / 1000);
    } else if (event.kind === "user" && typeof event.id === "string") targets.invalidateUser(event.id);
    else if (event.kind === "roles") void targets.reloadRoles();
  });
  const sync = trackSync(subscriber, targets, logger);

  return {
    get inSync() {
      return sync.inSync;
    },
    userChanged: (id) => publish({ kind: "user", id }),
    rolesChanged: () => publish({ kind: "roles" }),
    async flush() {
      await Promise.all([...pending]);
    },
    async close() {
      unsubscribe();
      sync.stop();
      subscriber.disconnect();
    },
  };
}

/**
 * The in-sync state machine. Out of sync at start and whenever the subscriber's connection closes; on
 * every `ready`: subscribe, THEN resync (anything published after the subscription arrives by message,
 * anything before it is in storage), then in sync — unless the connection dropped again meanwhile
 * (the generation check). A resync that fails (storage down too) is retried while connected.
 */
function trackSync(subscriber: RedisClient, targets: BroadcastTargets, logger: Logger) {
  let inSync = false;
  let wasInSync = false;
  let generation = 0;
  let outOfSyncSince = Date.now();
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;

  const setInSync = (value: boolean) => {
    if (inSync === value) return;
    inSync = value;
    targets.onSyncChange?.(value);
  };

  async function catchUp(attempt: number): Promise<void> {
    try {
      await subscriber.subscribe(CHANNEL);
      await targets.resync();
    } catch (error) {
      if (stopped || attempt !== generation) return;
      logger.error({ err: { message: (error as Error).message } }, "could not catch up on revocations after (re)connecting; retrying");
      retry = setTimeout(() => void catchUp(attempt), RESYNC_RETRY_MS);
      retry.unref();
      return;
    }
    if (stopped || attempt !== generation || subscriber.status !== "ready") return;
    if (wasInSync) logger.warn({ outOfSyncMs: Date.now() - outOfSyncSince }, "revocations in sync again: caught up after the Redis outage");
    wasInSync = true;
    setInSync(true);
  }

  const onReady = () => {
    generation++;
    clearTimeout(retry);
    void catchUp(generation);
  };
  const onClose = () => {
    generation++;
    clearTimeout(retry);
    if (inSync) {
      outOfSyncSince = Date.now();
      logger.error("revocation broadcast lost (Redis unreachable): checking storage for every token until it is back");
    }
    setInSync(false);
  };
  subscriber.on("ready", onReady);
  subscriber.on("close", onClose);
  if (subscriber.status === "ready") onReady();

  return {
    get inSync() {
      return inSync;
    },
    stop() {
      stopped = true;
      clearTimeout(retry);
      subscriber.off("ready", onReady);
      subscriber.off("close", onClose);
    },
  };
}

/** Loads the revocations still in force from Redis (see REVOCATION_BACKLOG); returns how many. */
export async function loadRevocationBacklog(redis: RedisClient, revocations: RevocationList, now = Date.now()): Promise<number> {
  const members = await redis.zrangebyscore(REVOCATION_BACKLOG, Math.floor(now / 1000), "+inf");
  const entries: RevocationEntry[] = [];
  for (const member of members) {
    try {
      entries.push(JSON.parse(member) as RevocationEntry);
    } catch {
      // A member we cannot read revokes nothing; the rest still load.
    }
  }
  revocations.load(entries);
  return entries.length;
}

/** Puts revocations back in the backlog (after an outage in which their publication may have failed). */
export async function restoreBacklog(redis: RedisClient, entries: readonly RevocationEntry[]): Promise<void> {
  const scored = entries.flatMap((entry) => [entry.until, JSON.stringify(entry)]);
  await redis.zadd(REVOCATION_BACKLOG, ...scored);
}
