/**
 * Keeps instances that share one Redis in agreement without a round trip on the hot path: every
 * revocation and every change to a user or role is published once; each instance applies what the
 * others publish to its own in-memory deny list and caches. A revoked token is dead everywhere within
 * the pub/sub delivery time (sub-millisecond on a LAN), and storage remains the source of truth
 * (instances warm their deny list from it at start).
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { duplicateRedisClient, type RedisClient } from "../core/redis.ts";
import type { RevocationEntry, RevocationList } from "../core/revocation.ts";

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
}

export function startBroadcast(publisher: RedisClient, targets: BroadcastTargets, logger: Logger): Broadcaster {
  const origin = randomUUID();
  const subscriber = duplicateRedisClient(publisher, { enableOfflineQueue: true, maxRetriesPerRequest: null });
  subscriber.on("error", (error) => logger.warn({ err: { message: error.message } }, "broadcast subscriber error"));

  const pending = new Set<Promise<unknown>>();
  const publish = (event: Event) => {
    const message = JSON.stringify({ origin, ...event });
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
    let event: (Event & { origin?: string }) | undefined;
    try {
      event = JSON.parse(text);
    } catch {
      return;
    }
    if (!event || event.origin === origin) return;
    if (event.kind === "revocation") targets.revocations.load([event.entry]);
    else if (event.kind === "user" && typeof event.id === "string") targets.invalidateUser(event.id);
    else if (event.kind === "roles") void targets.reloadRoles();
  });
  // Not awaited: with Redis down at start-up this would wait for it forever. ioredis subscribes (again)
  // whenever the connection is (re)established.
  subscriber.subscribe(CHANNEL).catch((error) => {
    logger.error({ err: error }, "could not subscribe to security events; will retry while Redis reconnects");
  });

  return {
    userChanged: (id) => publish({ kind: "user", id }),
    rolesChanged: () => publish({ kind: "roles" }),
    async flush() {
      await Promise.all([...pending]);
    },
    async close() {
      unsubscribe();
      subscriber.disconnect();
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
