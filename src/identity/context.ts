/**
 * Everything identity needs, opened once: storage (migrated), signing keys, token issuer and verifier,
 * revocation list (warmed from storage), password hasher, login throttle, role resolver and the user
 * state cache. `close()` releases it all.
 */
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";
import { createRoleResolver, type RoleResolver } from "../core/authz/roles.ts";
import { createRedisClient, type RedisClient } from "../core/redis.ts";
import { createPasswordHasher, type PasswordHasher } from "../core/passwords/index.ts";
import { createRevocationList, type RevocationEntry, type RevocationList } from "../core/revocation.ts";
import { NO_TELEMETRY, type Telemetry } from "../core/telemetry.ts";
import {
  createLoginThrottle,
  createMemoryLoginThrottleStore,
  createRedisLoginThrottleStore,
  type LoginThrottle,
} from "../core/throttle/index.ts";
import {
  type AccessTokenIssuer,
  type AccessTokenVerifier,
  createAccessTokenIssuer,
  createAccessTokenVerifier,
  type KeyRing,
} from "../core/tokens/index.ts";
import { createRepositories, type DatabaseHandle, migrateToLatest, openDatabase, type Repositories } from "../store/index.ts";
import { createCsrfSigner, type CsrfSigner } from "./csrf.ts";
import { loadKeyRing, privateSecretOf, warnIfEd25519Degraded } from "./keys.ts";
import { restoreBacklog, startBroadcast } from "./broadcast.ts";
import { createUserStateCache, type UserStateCache } from "./user-state.ts";
import { type ClientStateCache, createClientStateCache } from "./client-state.ts";
import { type ApiTokenCache, createApiTokenCache } from "./api-token-cache.ts";

export interface IdentityContext {
  config: ResolvedConfig;
  logger: Logger;
  /** Where login failures, refresh reuse and revocations are reported (the app's /metrics); a no-op by default. */
  telemetry: Telemetry;
  database: DatabaseHandle;
  repos: Repositories;
  keyRing: KeyRing;
  issuer: AccessTokenIssuer;
  verifier: AccessTokenVerifier;
  revocations: RevocationList;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  roles: RoleResolver;
  users: UserStateCache;
  /** OAuth service clients that still exist (dropped on delete, here and on every instance). */
  clients: ClientStateCache;
  /** API tokens found valid in storage, by secret hash; cleared by any token or owner change. */
  apiTokens: ApiTokenCache;
  /** A `Redis`, or a `Cluster` for a `redis+cluster://` URL. */
  redis: RedisClient | undefined;
  csrf: CsrfSigner;
  /** Re-reads the role table after an admin change (here and, through Redis, on every instance). */
  reloadRoles(): Promise<void>;
  /**
   * Drops a user's (or a service client's) cached state, and every cached API token, after a change to
   * them or to one of their API tokens (here and on every instance).
   */
  userChanged(id: string): void;
  /** Drops every cached user, client and API token here (another process changed storage). */
  forgetCachedState(): void;
  /** Waits until revocations and changes made so far have been handed to every instance. */
  flushBroadcast(): Promise<void>;
  /**
   * Whether the in-memory deny list and user/client caches can be trusted alone: always without Redis
   * (one instance), otherwise only while the revocation broadcast is subscribed and caught up. While
   * false, every token is checked against storage (or refused, with `rateLimit.failurePolicy: closed`).
   */
  revocationsInSync(): boolean;
  close(): Promise<void>;
}

export interface OpenIdentityOptions {
  /** The app's metrics (src/http/telemetry.ts); default: record nothing (CLI commands). */
  telemetry?: Telemetry;
}

export async function openIdentity(config: ResolvedConfig, logger: Logger, options: OpenIdentityOptions = {}): Promise<IdentityContext> {
  const telemetry = options.telemetry ?? NO_TELEMETRY;
  const database = await openDatabase({
    dataDir: config.dataDir,
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
    onError: (error) => logger.error({ err: error }, "database connection error"),
  });
  const applied = await migrateToLatest(database.db);
  if (applied.length > 0) logger.info({ applied }, "database migrated");
  const repos = createRepositories(database.db);

  const keyRing = await loadKeyRing(config, repos);
  warnIfEd25519Degraded(keyRing, logger);
  const { issuer: iss, audience, accessTtlSeconds, clockToleranceSeconds } = config.tokens;
  const issuer = createAccessTokenIssuer({ keyRing, issuer: iss, audience, lifetime: accessTtlSeconds });
  const verifier = createAccessTokenVerifier({ keyRing, issuer: iss, audience, clockTolerance: clockToleranceSeconds });

  const revocations = createRevocationList({ accessTokenLifetime: accessTtlSeconds, clockTolerance: clockToleranceSeconds });
  const stored = await storedRevocations(repos);
  revocations.load(stored);
  telemetry.revocationApplied("storage", stored.length);

  const redis = config.redisUrl
    ? createRedisClient(config.redisUrl, { lazyConnect: false, enableOfflineQueue: false, maxRetriesPerRequest: 1 })
    : undefined;
  redis?.on("error", (error) => logger.warn({ err: { message: error.message } }, "redis error"));
  if (redis) await waitForRedis(redis, logger);
  const t = config.loginThrottle;
  const throttleStore = redis
    ? createRedisLoginThrottleStore({
        client: redis,
        failurePolicy: config.rateLimit.failurePolicy,
        onFallback: (error) => logger.warn({ err: error }, "login throttle: Redis unavailable, using local state"),
      })
    : createMemoryLoginThrottleStore();
  const throttle = createLoginThrottle({
    store: throttleStore,
    policy: {
      freeFailures: t.freeFailures,
      failureWindowMs: t.windowSeconds * 1000,
      baseDelayMs: t.baseDelaySeconds * 1000,
      maxDelayMs: t.maxDelaySeconds * 1000,
      clientMaxFailures: t.clientFailuresPerHour,
      clientWindowMs: 3_600_000,
    },
  });

  const roles = createRoleResolver(await roleTable(repos));
  const users = createUserStateCache(repos, roles);
  const clients = createClientStateCache(repos);
  const apiTokens = createApiTokenCache();
  // One "user changed" event serves users and service clients: their ids never collide (UUIDs, rmpc_…).
  const invalidatePrincipal = (id: string) => {
    users.invalidate(id);
    clients.invalidate(id);
    apiTokens.clear();
  };
  const reloadLocalRoles = async () => {
    roles.update(await roleTable(repos));
    users.invalidate();
  };
  // After a Redis outage: what was revoked or changed meanwhile is in storage. Reload it, drop every
  // cached user and client, and put the revocations back in the Redis backlog for verify-only services.
  const resync = async () => {
    const entries = await storedRevocations(repos);
    revocations.load(entries);
    telemetry.revocationApplied("storage", entries.length);
    await reloadLocalRoles();
    clients.invalidate();
    apiTokens.clear();
    if (redis && entries.length > 0) await restoreBacklog(redis, entries);
  };
  const broadcast = redis
    ? startBroadcast(redis, { revocations, invalidateUser: invalidatePrincipal, reloadRoles: reloadLocalRoles, resync, telemetry }, logger)
    : undefined;

  return {
    config,
    logger,
    telemetry,
    database,
    repos,
    keyRing,
    issuer,
    verifier,
    revocations,
    hasher: createPasswordHasher(config.passwords.argon2),
    throttle,
    roles,
    users,
    clients,
    apiTokens,
    redis,
    csrf: createCsrfSigner(await privateSecretOf(config, repos)),
    async reloadRoles() {
      await reloadLocalRoles();
      broadcast?.rolesChanged();
    },
    async flushBroadcast() {
      await broadcast?.flush();
    },
    revocationsInSync: broadcast ? () => broadcast.inSync : () => true,
    userChanged(id) {
      invalidatePrincipal(id);
      broadcast?.userChanged(id);
    },
    forgetCachedState() {
      users.invalidate();
      clients.invalidate();
      apiTokens.clear();
    },
    async close() {
      await broadcast?.close();
      await throttleStore.close();
      redis?.disconnect();
      await database.close();
    },
  };
}

async function storedRevocations(repos: Repositories): Promise<RevocationEntry[]> {
  const active = await repos.revocations.activeSince(new Date());
  const seconds = (d: Date) => Math.floor(d.getTime() / 1000);
  return [
    ...active.jtis.map((r) => ({ kind: "jti" as const, jti: r.jti, until: seconds(r.expiresAt) })),
    ...active.sessions.map((r) => ({ kind: "sid" as const, sid: r.sid, until: seconds(r.expiresAt) })),
  ];
}

async function roleTable(repos: Repositories): Promise<Record<string, string[]>> {
  return Object.fromEntries((await repos.roles.list()).map((role) => [role.name, role.permissions]));
}

/** Start-up waits briefly for Redis; if it is down, start anyway: the failure policy decides per request. */
async function waitForRedis(redis: RedisClient, logger: Logger, timeoutMs = 3000): Promise<void> {
  if (redis.status === "ready") return;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!ready) logger.error({ timeoutMs }, "Redis is not reachable at start-up; applying rateLimit.failurePolicy until it is");
}
