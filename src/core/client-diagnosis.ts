/**
 * Reads recorded requests (`client-recorder.ts`) against the proxy configuration and says, in words an
 * operator can act on, how client addresses and schemes are being resolved and what looks wrong. The
 * classic fault: Rampart runs behind a proxy or load balancer that is not in `trustedProxies`, so every
 * request "comes from" the proxy: every client shares one rate-limit bucket and one login-throttle
 * budget, and a proxy's `X-Forwarded-Proto: https` is ignored (refused when HTTPS is enforced).
 */
import type { TrustedProxies } from "./client.ts";
import { normaliseAddress, parseAddress } from "./client.ts";
import {
  type ClientSample,
  FORWARDED_SAYS_HTTPS,
  SENT_FORWARDED,
  SENT_PROXY_HEADERS,
  SENT_X_FORWARDED_FOR,
  SENT_X_FORWARDED_PROTO,
  X_FORWARDED_PROTO_SAYS_HTTPS,
} from "./client-recorder.ts";

export type ProxyHeaderMode = "both" | "x-forwarded" | "forwarded";

/** The configuration the diagnosis is read against. */
export interface ClientResolutionSetup {
  /** `trustedProxies` as configured (text), for messages. */
  trustedProxies: readonly string[];
  proxies: TrustedProxies;
  proxyHeaders: ProxyHeaderMode;
  httpsEnforced: boolean;
  httpsRedirect: boolean;
  nativeTls: boolean;
}

/**
 * Stable codes, one per finding (tests and log pipelines match on these, not on the text).
 * - ONE_CLIENT_ADDRESS: every sampled request resolved to one address that looks like a proxy.
 * - PROXY_HEADERS_IGNORED: an untrusted peer sent forwarding headers.
 * - FORWARDED_HTTPS_IGNORED: an untrusted peer said https while HTTPS is enforced (refused).
 * - PROXY_HEADERS_NOT_HONOURED: a trusted proxy sends only the header kind `proxyHeaders` excludes.
 */
export type ClientResolutionWarningCode =
  | "RAMPART_WARN_ONE_CLIENT_ADDRESS"
  | "RAMPART_WARN_PROXY_HEADERS_IGNORED"
  | "RAMPART_WARN_FORWARDED_HTTPS_IGNORED"
  | "RAMPART_WARN_PROXY_HEADERS_NOT_HONOURED";

export interface ClientResolutionWarning {
  code: ClientResolutionWarningCode;
  message: string;
}

export interface Tally {
  value: string;
  count: number;
}

export interface ClientResolutionSummary {
  size: number;
  /** Epoch ms of the oldest and newest sampled request; undefined when none. */
  oldest: number | undefined;
  newest: number | undefined;
  withProxyHeaders: number;
  fromTrustedProxies: number;
  /** Requests whose forwarding headers were not read (untrusted peer). */
  proxyHeadersIgnored: number;
  peers: Tally[];
  clients: Tally[];
  schemes: Tally[];
  warnings: ClientResolutionWarning[];
}

export interface SummaryOptions {
  /** The one-address warning needs at least this many requests; default 20. */
  minimumSample?: number;
  /** Entries kept per tally; default 10. */
  top?: number;
}

const TRUSTED_PROXIES_KEY = "trustedProxies (env RAMPART_TRUSTED_PROXIES)";
// A private, loopback or otherwise non-routable address as the only "client" is a proxy, a load
// balancer or a container network's gateway far more often than a lone real user.
const INTERNAL_RANGES = new Set(["private", "loopback", "uniqueLocal", "linkLocal", "carrierGradeNat", "unspecified"]);
/** Per-peer warnings listed at most; the rest are counted in one line. */
const MAX_PEER_WARNINGS = 3;

/** The forwarding headers a trusted proxy may set under this configuration (none without trusted proxies). */
export function honouredHeaders(setup: Pick<ClientResolutionSetup, "proxies" | "proxyHeaders">): string[] {
  if (setup.proxies.size === 0) return [];
  const headers: string[] = [];
  if (setup.proxyHeaders !== "x-forwarded") headers.push("Forwarded");
  if (setup.proxyHeaders !== "forwarded") headers.push("X-Forwarded-For", "X-Forwarded-Proto");
  return headers;
}

/** One sentence each: where the client IP and the scheme come from, and what HTTPS enforcement does. */
export function describeClientResolution(setup: ClientResolutionSetup): { clientIp: string; scheme: string; https: string } {
  const connection = setup.nativeTls ? "the connection's (https: native TLS)" : "the connection's (http: no native TLS)";
  const https = !setup.httpsEnforced
    ? "not enforced: plain-HTTP requests are served (https.enforce is off)"
    : setup.httpsRedirect
      ? "enforced: plain-HTTP GET/HEAD are redirected to https:// (308), other plain-HTTP requests refused (403)"
      : "enforced: plain-HTTP requests are refused (403)";
  if (setup.proxies.size === 0) {
    return {
      clientIp: "the socket address (no trusted proxies); X-Forwarded-For and Forwarded are ignored",
      scheme: `${connection}; X-Forwarded-Proto and Forwarded proto= are ignored`,
      https,
    };
  }
  const list = setup.trustedProxies.join(", ");
  const source =
    setup.proxyHeaders === "both"
      ? "Forwarded (RFC 7239) when present, else X-Forwarded-For"
      : setup.proxyHeaders === "forwarded"
        ? "Forwarded (RFC 7239) only; X-Forwarded-* ignored (proxyHeaders: forwarded)"
        : "X-Forwarded-For only; Forwarded ignored (proxyHeaders: x-forwarded)";
  const schemeSource =
    setup.proxyHeaders === "both"
      ? "the last Forwarded element's proto= when Forwarded is present, else the rightmost X-Forwarded-Proto value"
      : setup.proxyHeaders === "forwarded"
        ? "the last Forwarded element's proto="
        : "the rightmost X-Forwarded-Proto value";
  return {
    clientIp: `trusted proxies: ${list}; from a trusted proxy, client IP from ${source}, the rightmost address not in the trusted list; from any other peer, the socket address`,
    scheme: `from a trusted proxy, ${schemeSource}; without it, and from any other peer, ${connection}`,
    https,
  };
}

/** Counts and warnings for the sampled requests. */
export function summariseClientResolution(
  samples: readonly ClientSample[],
  setup: ClientResolutionSetup,
  options: SummaryOptions = {},
): ClientResolutionSummary {
  const minimumSample = options.minimumSample ?? 20;
  const top = options.top ?? 10;
  const normalised = new Map<string | undefined, string>();
  const peerOf = (sample: ClientSample): string => {
    let peer = normalised.get(sample.peer);
    if (peer === undefined) {
      peer = sample.peer === undefined ? "unknown" : (normaliseAddress(sample.peer) ?? sample.peer);
      normalised.set(sample.peer, peer);
    }
    return peer;
  };

  const peers = new Map<string, number>();
  const clients = new Map<string, number>();
  const schemes = new Map<string, number>();
  const byPeer = new Map<string, PeerFacts>();
  let withProxyHeaders = 0;
  let fromTrustedProxies = 0;
  let proxyHeadersIgnored = 0;
  for (const sample of samples) {
    const peer = peerOf(sample);
    bump(peers, peer);
    bump(clients, sample.client);
    bump(schemes, sample.scheme);
    let facts = byPeer.get(peer);
    if (!facts) {
      facts = { requests: 0, trusted: sample.viaTrustedProxy, headers: 0, ignored: 0, httpsIgnored: 0, notHonoured: 0, notHonouredHeaders: 0 };
      byPeer.set(peer, facts);
    }
    facts.requests++;
    facts.headers |= sample.headers;
    if (sample.headers & SENT_PROXY_HEADERS) withProxyHeaders++;
    if (sample.viaTrustedProxy) {
      fromTrustedProxies++;
      const unread = unreadHeaders(sample.headers, setup.proxyHeaders);
      if (unread !== 0) {
        facts.notHonoured++;
        facts.notHonouredHeaders |= unread;
      }
    } else if (sample.headers & SENT_PROXY_HEADERS) {
      proxyHeadersIgnored++;
      facts.ignored++;
      if (setup.httpsEnforced && sample.scheme === "http" && sample.headers & (FORWARDED_SAYS_HTTPS | X_FORWARDED_PROTO_SAYS_HTTPS)) facts.httpsIgnored++;
    }
  }

  const warnings: ClientResolutionWarning[] = [];
  const only = clients.size === 1 && samples.length >= minimumSample ? (clients.keys().next().value as string) : undefined;
  const oneClient = only === undefined ? undefined : oneClientWarning(only, samples.length, byPeer, setup);
  if (oneClient) warnings.push(oneClient);
  const coveredPeer = oneClient ? only : undefined;

  perPeer(
    warnings,
    [...byPeer].filter(([peer, f]) => f.ignored > 0 && peer !== coveredPeer),
    (a, b) => b[1].ignored - a[1].ignored,
    ([peer, f]) => ({
      code: "RAMPART_WARN_PROXY_HEADERS_IGNORED",
      message:
        `${f.ignored} of ${f.requests} sampled request${f.requests === 1 ? "" : "s"} from ${peer} carried ${headerNames(f.headers)}, which were ignored: ${peer} is not a trusted proxy. ` +
        `If it is your proxy or load balancer, add ${peer} (or its subnet's CIDR) to ${TRUSTED_PROXIES_KEY}; if not, a client is writing the header itself and ignoring it is right.`,
    }),
  );
  perPeer(
    warnings,
    [...byPeer].filter(([, f]) => f.httpsIgnored > 0),
    (a, b) => b[1].httpsIgnored - a[1].httpsIgnored,
    ([peer, f]) => ({
      code: "RAMPART_WARN_FORWARDED_HTTPS_IGNORED",
      message:
        `${f.httpsIgnored} sampled request${f.httpsIgnored === 1 ? "" : "s"} from ${peer} said ${f.headers & X_FORWARDED_PROTO_SAYS_HTTPS ? "X-Forwarded-Proto: https" : "Forwarded proto=https"}, but ${peer} is not a trusted proxy, ` +
        `so ${f.httpsIgnored === 1 ? "it counted as plain HTTP and was" : "they counted as plain HTTP and were"} ${setup.httpsRedirect ? "redirected to https:// (a redirect loop behind a TLS-terminating proxy) or refused" : "refused with 403"} because HTTPS is enforced (https.enforce). ` +
        `If ${peer} terminates TLS for you, add it to ${TRUSTED_PROXIES_KEY}.`,
    }),
  );
  perPeer(
    warnings,
    [...byPeer].filter(([, f]) => f.notHonoured > 0),
    (a, b) => b[1].notHonoured - a[1].notHonoured,
    ([peer, f]) => {
      const sends = headerNames(f.notHonouredHeaders);
      const fix =
        setup.proxyHeaders === "forwarded"
          ? 'set proxyHeaders to "x-forwarded" or "both", or make the proxy send Forwarded (RFC 7239)'
          : 'set proxyHeaders to "forwarded" or "both", or make the proxy send X-Forwarded-For and X-Forwarded-Proto';
      return {
        code: "RAMPART_WARN_PROXY_HEADERS_NOT_HONOURED",
        message: `${f.notHonoured} sampled request${f.notHonoured === 1 ? "" : "s"} from trusted proxy ${peer} carried only ${sends}, which proxyHeaders "${setup.proxyHeaders}" does not read, so the client address and scheme were the proxy's own: ${fix}.`,
      };
    },
  );

  let oldest: number | undefined;
  let newest: number | undefined;
  for (const { at } of samples) {
    if (oldest === undefined || at < oldest) oldest = at;
    if (newest === undefined || at > newest) newest = at;
  }
  return {
    size: samples.length,
    oldest,
    newest,
    withProxyHeaders,
    fromTrustedProxies,
    proxyHeadersIgnored,
    peers: tally(peers, top),
    clients: tally(clients, top),
    schemes: tally(schemes, top),
    warnings,
  };
}

interface PeerFacts {
  requests: number;
  /** Whether the peer was trusted (the same for every request of one peer). */
  trusted: boolean;
  /** Union of the header bits it sent. */
  headers: number;
  /** Requests whose forwarding headers were ignored (untrusted peer). */
  ignored: number;
  /** Of those, requests that said https while HTTPS is enforced. */
  httpsIgnored: number;
  /** Trusted-proxy requests carrying only headers `proxyHeaders` excludes. */
  notHonoured: number;
  notHonouredHeaders: number;
}

/** The header bits a trusted proxy sent that this mode does not read, when it sent none that it does. */
function unreadHeaders(headers: number, mode: ProxyHeaderMode): number {
  const forwarded = headers & SENT_FORWARDED;
  const xForwarded = headers & (SENT_X_FORWARDED_FOR | SENT_X_FORWARDED_PROTO);
  if (mode === "forwarded" && forwarded === 0) return xForwarded;
  if (mode === "x-forwarded" && xForwarded === 0) return forwarded;
  return 0;
}

function oneClientWarning(address: string, size: number, byPeer: Map<string, PeerFacts>, setup: ClientResolutionSetup): ClientResolutionWarning | undefined {
  const shared = `every client shares its rate limits and login-throttle budget`;
  const direct = byPeer.get(address);
  if (direct && !direct.trusted && direct.ignored > 0) {
    // The peer is the client: an untrusted proxy whose headers were ignored.
    return {
      code: "RAMPART_WARN_ONE_CLIENT_ADDRESS",
      message:
        `every request seems to come from ${address} (all ${size} sampled requests); it sends ${headerNames(direct.headers)} but is not a trusted proxy, so ${shared}: ` +
        `set ${TRUSTED_PROXIES_KEY} to ${address} or its subnet's CIDR.`,
    };
  }
  if (direct?.trusted) {
    return {
      code: "RAMPART_WARN_ONE_CLIENT_ADDRESS",
      message:
        `every request seems to come from ${address} (all ${size} sampled requests), a trusted proxy that names no other client in ${honouredHeaders(setup).join(" / ") || "its headers"}, so ${shared}: ` +
        `make the proxy send X-Forwarded-For (or Forwarded) with the client's address${setup.proxyHeaders === "both" ? "" : ` (proxyHeaders: "${setup.proxyHeaders}")`}.`,
    };
  }
  if (!isInternal(address)) return undefined;
  const viaTrusted = [...byPeer].filter(([, f]) => f.trusted).map(([peer]) => peer);
  if (viaTrusted.length > 0) {
    // A trusted proxy forwards, and the hop it names is itself internal: a second proxy in front.
    return {
      code: "RAMPART_WARN_ONE_CLIENT_ADDRESS",
      message:
        `every request seems to come from ${address} (all ${size} sampled requests), an internal address that trusted proxy ${viaTrusted.slice(0, 3).join(", ")} names as the client, so ${shared}: ` +
        `if ${address} is another proxy or load balancer in front, add it (or its subnet's CIDR) to ${TRUSTED_PROXIES_KEY}.`,
    };
  }
  return {
    code: "RAMPART_WARN_ONE_CLIENT_ADDRESS",
    message:
      `every request seems to come from ${address} (all ${size} sampled requests), an internal address, and none carried X-Forwarded-For or Forwarded, so ${shared}: ` +
      `if a proxy or load balancer forwards to Rampart, make it send X-Forwarded-For and set ${TRUSTED_PROXIES_KEY} to ${address} or its subnet's CIDR.`,
  };
}

function perPeer<T>(
  warnings: ClientResolutionWarning[],
  entries: T[],
  order: (a: T, b: T) => number,
  warn: (entry: T) => ClientResolutionWarning,
): void {
  const sorted = entries.sort(order);
  for (const entry of sorted.slice(0, MAX_PEER_WARNINGS)) warnings.push(warn(entry));
  if (sorted.length > MAX_PEER_WARNINGS) {
    const first = warn(sorted[0] as T);
    warnings.push({ code: first.code, message: `and ${sorted.length - MAX_PEER_WARNINGS} more peer${sorted.length - MAX_PEER_WARNINGS === 1 ? "" : "s"} like these.` });
  }
}

function isInternal(address: string): boolean {
  const parsed = parseAddress(address);
  return parsed !== undefined && INTERNAL_RANGES.has(parsed.range());
}

function headerNames(bits: number): string {
  const names: string[] = [];
  if (bits & SENT_X_FORWARDED_FOR) names.push("X-Forwarded-For");
  if (bits & SENT_X_FORWARDED_PROTO) names.push("X-Forwarded-Proto");
  if (bits & SENT_FORWARDED) names.push("Forwarded");
  if (names.length <= 1) return names[0] ?? "no forwarding header";
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function tally(map: Map<string, number>, top: number): Tally[] {
  return [...map]
    .map(([value, count]) => ({ value, count }))
    .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    .slice(0, top);
}
