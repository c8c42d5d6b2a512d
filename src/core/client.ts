/**
 * Who is the client and did it come over HTTPS? The socket says, unless the socket peer is a trusted
 * proxy: only then are `Forwarded` (RFC 7239) / `X-Forwarded-For` / `X-Forwarded-Proto` believed.
 * Anyone else can write those headers, so believing them from an untrusted peer would let a client
 * pick its own IP (escaping rate limits) or claim HTTPS (escaping HTTPS enforcement).
 */
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface TrustedProxies {
  readonly size: number;
  isTrusted(address: string): boolean;
}

export class InvalidProxyEntryError extends Error {
  constructor(
    readonly index: number,
    readonly entry: string,
  ) {
    super(`expected an IPv4/IPv6 address or CIDR (e.g. 10.0.0.0/8, ::1), got "${entry}"`);
  }
}

/** Parses IPs and CIDRs once, at load. Throws `InvalidProxyEntryError` naming the bad entry. */
export function parseTrustedProxies(entries: readonly string[]): TrustedProxies {
  const ranges: [Address, number][] = entries.map((raw, index) => {
    const entry = raw.trim();
    try {
      if (entry.includes("/")) return ipaddr.parseCIDR(entry);
      const address = ipaddr.parse(entry);
      return [address, address.kind() === "ipv4" ? 32 : 128];
    } catch {
      throw new InvalidProxyEntryError(index, raw);
    }
  });
  const v4 = ranges.filter(([a]) => a.kind() === "ipv4");
  const v6 = ranges.filter(([a]) => a.kind() === "ipv6");
  return {
    size: ranges.length,
    isTrusted(address) {
      const parsed = parseAddress(address);
      if (!parsed) return false;
      const list = parsed.kind() === "ipv4" ? v4 : v6;
      // biome-ignore lint/suspicious/noExplicitAny: ipaddr's match() is typed per address kind
      return list.some((range) => (parsed as any).match(range));
    },
  };
}

/** Parses an address, folding IPv4-mapped IPv6 (`::ffff:1.2.3.4`) to IPv4 and dropping zone ids. */
export function parseAddress(value: string): Address | undefined {
  let text = value.trim();
  if (text.startsWith("[")) text = text.slice(1, text.indexOf("]") === -1 ? undefined : text.indexOf("]"));
  const zone = text.indexOf("%");
  if (zone !== -1) text = text.slice(0, zone);
  if (!ipaddr.isValid(text)) return undefined;
  const parsed = ipaddr.parse(text);
  if (parsed.kind() === "ipv6" && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    return (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed;
}

/** Canonical text of an address, so textual variants of one address compare equal. */
export function normaliseAddress(value: string): string | undefined {
  return parseAddress(value)?.toString();
}

export type Scheme = "http" | "https";

export interface ClientRequestFacts {
  socketAddress: string | undefined;
  socketEncrypted: boolean;
  forwarded?: string | string[] | undefined;
  xForwardedFor?: string | string[] | undefined;
  xForwardedProto?: string | string[] | undefined;
}

export interface ClientInfo {
  ip: string;
  scheme: Scheme;
  /** True when the socket peer is a trusted proxy (its forwarding headers were read). */
  viaTrustedProxy: boolean;
}

export interface ClientResolverOptions {
  trustedProxies: TrustedProxies;
  proxyHeaders: "both" | "x-forwarded" | "forwarded";
}

export function createClientResolver(options: ClientResolverOptions) {
  const { trustedProxies, proxyHeaders } = options;
  const useForwarded = proxyHeaders !== "x-forwarded";
  const useXForwarded = proxyHeaders !== "forwarded";

  return function resolveClient(facts: ClientRequestFacts): ClientInfo {
    const socketIp = normaliseAddress(facts.socketAddress ?? "") ?? "0.0.0.0";
    const socketScheme: Scheme = facts.socketEncrypted ? "https" : "http";
    if (trustedProxies.size === 0 || !trustedProxies.isTrusted(socketIp)) {
      return { ip: socketIp, scheme: socketScheme, viaTrustedProxy: false };
    }
    const forwarded = useForwarded ? joined(facts.forwarded) : undefined;
    if (forwarded) {
      const elements = parseForwarded(forwarded);
      return {
        ip: walkHops(elements.map((e) => e.for), socketIp, trustedProxies),
        scheme: pickScheme(elements.at(-1)?.proto) ?? socketScheme,
        viaTrustedProxy: true,
      };
    }
    if (!useXForwarded) return { ip: socketIp, scheme: socketScheme, viaTrustedProxy: true };
    const xff = joined(facts.xForwardedFor);
    const hops = xff ? xff.split(",").map((h) => h.trim()) : [];
    const protos = joined(facts.xForwardedProto)?.split(",");
    return {
      ip: walkHops(hops, socketIp, trustedProxies),
      scheme: pickScheme(protos?.at(-1)) ?? socketScheme,
      viaTrustedProxy: true,
    };
  };
}

/**
 * Walks the hop list from the right (nearest) to the left, skipping trusted proxies: the first
 * untrusted hop is the client. Hops left of it were written by the client and prove nothing.
 * A hop that is not an address stops the walk at the last trusted hop.
 */
export function walkHops(hops: readonly (string | undefined)[], socketIp: string, trusted: TrustedProxies): string {
  let client = socketIp;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normaliseAddress(stripPort(hops[i] ?? ""));
    if (!hop) return client;
    client = hop;
    if (!trusted.isTrusted(hop)) return hop;
  }
  return client;
}

function stripPort(hop: string): string {
  const text = hop.trim();
  if (text.startsWith("[")) return text.slice(0, text.indexOf("]") + 1);
  // IPv4 with port: exactly one colon.
  const colon = text.indexOf(":");
  return colon !== -1 && colon === text.lastIndexOf(":") ? text.slice(0, colon) : text;
}

function pickScheme(value: string | undefined): Scheme | undefined {
  const v = value?.trim().toLowerCase();
  return v === "https" || v === "http" ? v : undefined;
}

function joined(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(",") : value;
}

interface ForwardedElement {
  for?: string;
  proto?: string;
}

/** RFC 7239 §4: elements separated by commas, pairs by semicolons, values optionally quoted. */
export function parseForwarded(header: string): ForwardedElement[] {
  const elements: ForwardedElement[] = [];
  for (const element of splitOutsideQuotes(header, ",")) {
    const parsed: ForwardedElement = {};
    for (const pair of splitOutsideQuotes(element, ";")) {
      const eq = pair.indexOf("=");
      if (eq === -1) continue;
      const key = pair.slice(0, eq).trim().toLowerCase();
      let value = pair.slice(eq + 1).trim();
      if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1).replace(/\\(.)/g, "$1");
      if (key === "for") parsed.for = value;
      else if (key === "proto") parsed.proto = value;
    }
    elements.push(parsed);
  }
  return elements;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"' && text[i - 1] !== "\\") quoted = !quoted;
    if (ch === separator && !quoted) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}
