/**
 * One place that turns a Redis URL into an ioredis client, standalone or Redis Cluster:
 * - `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS): one server (`Redis`).
 * - `redis+cluster://[user:pass@]host1:port1,host2:port2,…`, `rediss+cluster://…` (TLS): a Redis Cluster
 *   (`Cluster`); the hosts are seed nodes, the client discovers the rest. A cluster has no databases, so
 *   no `/db` path.
 * Every key Rampart sends in one command or script carries one `{hash tag}`, so each sits in one slot.
 */
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from "ioredis";

export type RedisClient = Redis | Cluster;

const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^@/]*)@)?([^/?#@]+)\/?$/;

export function isClusterUrl(url: string): boolean {
  return /^rediss?\+cluster:\/\//.test(url);
}

/** The seed nodes and credentials of a `redis+cluster://` URL. @throws TypeError when malformed. */
export function parseClusterUrl(url: string): { nodes: ClusterNode[]; tls: boolean; username?: string; password?: string } {
  const match = CLUSTER_URL.exec(url);
  if (!match) throw new TypeError("redis cluster URL must look like redis+cluster://[user:pass@]host1:port1,host2:port2");
  const [, scheme, credentials, hosts] = match;
  const nodes = hosts!.split(",").map((node) => {
    const parsed = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(node.trim());
    if (!parsed) throw new TypeError(`redis cluster URL: ${JSON.stringify(node)} is not host[:port]`);
    const port = parsed[2] === undefined ? 6379 : Number(parsed[2]);
    if (port < 1 || port > 65535) throw new TypeError(`redis cluster URL: port ${port} out of range`);
    return { host: parsed[1]!.replace(/^\[|\]$/g, ""), port };
  });
  const result: { nodes: ClusterNode[]; tls: boolean; username?: string; password?: string } = { nodes, tls: scheme === "rediss" };
  if (credentials) {
    // As ioredis reads redis:// URLs: `:password@` is a password alone, `user@` a user without one.
    const colon = credentials.indexOf(":");
    const user = decodeURIComponent(colon < 0 ? credentials : credentials.slice(0, colon));
    if (user) result.username = user;
    if (colon >= 0) result.password = decodeURIComponent(credentials.slice(colon + 1));
  }
  return result;
}

const DISCONNECT_TIMEOUT_MS = 200;

/**
 * Connects to `url` (see above). `options` are per-connection options; for a cluster they apply to each
 * node's connection, except `enableOfflineQueue`, `lazyConnect` and `retryStrategy`, which apply to the
 * cluster as a whole.
 */
export function createRedisClient(url: string, givenOptions: RedisOptions = {}): RedisClient {
  // ioredis waits up to 2 s for a dead socket on disconnect(), holding a closing process open.
  const options: RedisOptions = { disconnectTimeout: DISCONNECT_TIMEOUT_MS, ...givenOptions };
  if (!isClusterUrl(url)) return new Redis(url, options);
  const { nodes, tls, username, password } = parseClusterUrl(url);
  const { enableOfflineQueue, lazyConnect, retryStrategy, ...perNode } = options;
  const clusterOptions: ClusterOptions = {
    redisOptions: {
      ...perNode,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(tls ? { tls: {} } : {}),
    },
  };
  if (enableOfflineQueue !== undefined) clusterOptions.enableOfflineQueue = enableOfflineQueue;
  if (lazyConnect !== undefined) clusterOptions.lazyConnect = lazyConnect;
  if (retryStrategy) clusterOptions.clusterRetryStrategy = (times) => retryStrategy(times);
  return new Cluster(nodes, clusterOptions);
}

/** A second connection to the same server or cluster (e.g. a pub/sub subscriber), with `options` changed. */
export function duplicateRedisClient(client: RedisClient, options: RedisOptions = {}): RedisClient {
  if (!(client instanceof Cluster)) return client.duplicate(options);
  const { enableOfflineQueue, lazyConnect, retryStrategy, ...perNode } = options;
  const override: ClusterOptions = { redisOptions: { ...client.options.redisOptions, ...perNode } };
  if (enableOfflineQueue !== undefined) override.enableOfflineQueue = enableOfflineQueue;
  if (lazyConnect !== undefined) override.lazyConnect = lazyConnect;
  if (retryStrategy) override.clusterRetryStrategy = (times) => retryStrategy(times);
  return client.duplicate([], override);
}
