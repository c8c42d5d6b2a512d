/**
 * Bounds on what one slow or greedy client can hold: how long it may take to send its headers and its
 * whole request (slowloris: headers or a body trickled a byte every 20 s would otherwise keep a socket
 * and its parser for ever: Fastify's `requestTimeout` defaults to 0, "none"), how long an idle
 * keep-alive connection stays open, and how many connections one address may have open at once.
 *
 * The timeouts are options of Node's HTTP server, so they go to the Fastify constructor
 * (`serverTimeoutOptions`, used by buildApp; `rampartServerOptions` gives an application the same
 * values). The connection cap only needs the server's `connection` event, so protectPlugin installs it
 * on the server of whatever instance it is registered on.
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import type { ResolvedConfig } from "../config/resolve.ts";
import { normaliseAddress, type TrustedProxies } from "../core/client.ts";
import { rampartFrameworkErrors } from "./framework-errors.ts";

// Node checks header and request deadlines on a timer (default every 30 s, which would let a 10 s
// bound stretch to 40 s); once a second keeps the bound close at the cost of one walk over the open
// connections per second.
const CHECK_INTERVAL_MS = 1000;

export interface ServerTimeoutOptions {
  requestTimeout: number;
  keepAliveTimeout: number;
  /** Passed to `http.createServer` / `https.createServer` by Fastify. */
  serverOptions: { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; connectionsCheckingInterval: number };
}

export function serverTimeoutOptions(timeouts: ResolvedConfig["timeouts"]): ServerTimeoutOptions {
  const requestTimeout = timeouts.requestSeconds * 1000;
  const keepAliveTimeout = timeouts.keepAliveSeconds * 1000;
  return {
    // Fastify overwrites the server's requestTimeout and keepAliveTimeout with its own options (0 and
    // 72 s by default), so they are given to Fastify as well as to the server.
    requestTimeout,
    keepAliveTimeout,
    serverOptions: { headersTimeout: timeouts.headersSeconds * 1000, requestTimeout, keepAliveTimeout, connectionsCheckingInterval: CHECK_INTERVAL_MS },
  };
}

/** The recommended defaults (`timeouts` of the config schema), in the units Node and Fastify take. */
const DEFAULT_TIMEOUTS = { headersSeconds: 10, requestSeconds: 30, keepAliveSeconds: 5 } as const;

/**
 * Fastify constructor options Rampart recommends, which a plugin cannot set itself: the slow-client
 * timeouts and `frameworkErrors`. Spread them into `Fastify()`.
 *
 * @example
 * import Fastify from "fastify";
 * import rampart, { rampartServerOptions } from "rampart";
 * const app = Fastify({ ...rampartServerOptions(), logger: true });
 * await app.register(rampart, { dataDir: "./data" });
 * @param timeouts seconds; defaults `{ headersSeconds: 10, requestSeconds: 30, keepAliveSeconds: 5 }`.
 */
export function rampartServerOptions(timeouts: Partial<ResolvedConfig["timeouts"]> = {}): {
  requestTimeout: number;
  keepAliveTimeout: number;
  http: ServerTimeoutOptions["serverOptions"];
  frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void;
} {
  const resolved = { ...DEFAULT_TIMEOUTS, ...timeouts };
  if (resolved.headersSeconds > resolved.requestSeconds) throw new TypeError(`"headersSeconds" must be at most "requestSeconds"`);
  const { requestTimeout, keepAliveTimeout, serverOptions } = serverTimeoutOptions(resolved);
  return { requestTimeout, keepAliveTimeout, http: serverOptions, frameworkErrors: rampartFrameworkErrors };
}

/**
 * At most `max` open connections per remote address; the next one is destroyed before a byte is read.
 *
 * Why per address: a slowloris attack (or a runaway client) works by holding many sockets from one
 * place, and a per-address count stops it without limiting how many different clients are served.
 * Behind a reverse proxy every client arrives from the proxy's address, so capping that address would
 * cap the whole site: trusted proxies are exempt, and the proxy must bound its own clients (nginx
 * `limit_conn`, HAProxy `maxconn`). The address is the socket's, never a forwarding header: at
 * connection time there are no headers yet, and they could be forged anyway.
 */
export function capConnectionsPerAddress(server: Server, max: number, proxies: TrustedProxies, onRefused?: (address: string) => void): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  // Addresses already reported while over the cap: one log line per episode, not one per refused socket.
  const reported = new Set<string>();
  server.on("connection", (socket: Socket) => {
    const address = normaliseAddress(socket.remoteAddress ?? "") ?? socket.remoteAddress ?? "";
    if (proxies.size > 0 && proxies.isTrusted(address)) return;
    const count = open.get(address) ?? 0;
    if (count >= max) {
      if (!reported.has(address)) {
        reported.add(address);
        onRefused?.(address);
      }
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once("close", () => {
      const left = (open.get(address) ?? 1) - 1;
      reported.delete(address);
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
