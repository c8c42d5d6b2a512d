/**
 * How recent requests' client address and scheme were resolved: a fixed ring of the last N requests
 * (socket peer, resolved client, scheme, which proxy headers came, whether the peer was trusted), read
 * by the client-resolution diagnostic (`client-diagnosis.ts`). The transport stage records every
 * request, so recording is a handful of writes into preallocated parallel arrays: no object, no
 * string is created per request (the peer and client strings are the ones the request already has).
 */
import type { ClientInfo, Scheme } from "./client.ts";

/** A `Forwarded` header was present. */
export const SENT_FORWARDED = 1;
/** An `X-Forwarded-For` header was present. */
export const SENT_X_FORWARDED_FOR = 2;
/** An `X-Forwarded-Proto` header was present. */
export const SENT_X_FORWARDED_PROTO = 4;
/** The last `Forwarded` element said `proto=https`. */
export const FORWARDED_SAYS_HTTPS = 8;
/** The rightmost `X-Forwarded-Proto` value was `https`. */
export const X_FORWARDED_PROTO_SAYS_HTTPS = 16;
export const SENT_PROXY_HEADERS = SENT_FORWARDED | SENT_X_FORWARDED_FOR | SENT_X_FORWARDED_PROTO;
const VIA_TRUSTED_PROXY = 32;
const RESOLVED_HTTPS = 64;

export const DEFAULT_SAMPLE_CAPACITY = 512;

// The same values the resolver reads (core/client.ts): the last Forwarded element, the rightmost
// X-Forwarded-Proto value. Only tested when the header is present.
const LAST_FORWARDED_HTTPS = /proto\s*=\s*"?https"?\s*(?:;[^,]*)?$/i;
const LAST_PROTO_HTTPS = /(?:^|,)\s*https\s*$/i;

/** The forwarding headers of a request, as Node parses them (`IncomingMessage.headers`). */
export interface ProxyHeaders {
  forwarded?: string | string[] | undefined;
  "x-forwarded-for"?: string | string[] | undefined;
  "x-forwarded-proto"?: string | string[] | undefined;
}

/** The `SENT_*` and `*_SAYS_HTTPS` bits for one request's headers; 0 (and no work) when none came. */
export function proxyHeaderFlags(headers: ProxyHeaders): number {
  const forwarded = headers.forwarded;
  const xForwardedFor = headers["x-forwarded-for"];
  const xForwardedProto = headers["x-forwarded-proto"];
  if (forwarded === undefined && xForwardedFor === undefined && xForwardedProto === undefined) return 0;
  let flags = 0;
  if (forwarded !== undefined) {
    flags |= SENT_FORWARDED;
    if (LAST_FORWARDED_HTTPS.test(text(forwarded))) flags |= FORWARDED_SAYS_HTTPS;
  }
  if (xForwardedFor !== undefined) flags |= SENT_X_FORWARDED_FOR;
  if (xForwardedProto !== undefined) {
    flags |= SENT_X_FORWARDED_PROTO;
    if (LAST_PROTO_HTTPS.test(text(xForwardedProto))) flags |= X_FORWARDED_PROTO_SAYS_HTTPS;
  }
  return flags;
}

function text(value: string | string[]): string {
  return typeof value === "string" ? value : value.join(",");
}

/** One recorded request. */
export interface ClientSample {
  /** The socket peer as the socket reports it (not normalised); undefined when the socket had none. */
  peer: string | undefined;
  /** The client address the resolver chose. */
  client: string;
  scheme: Scheme;
  /** True when the peer was a trusted proxy (its forwarding headers were read). */
  viaTrustedProxy: boolean;
  /** `SENT_*` / `*_SAYS_HTTPS` bits. */
  headers: number;
  /** Epoch milliseconds. */
  at: number;
}

export interface ClientResolutionRecorder {
  readonly capacity: number;
  /** Requests recorded since creation; the ring holds the last `min(recorded, capacity)`. */
  readonly recorded: number;
  /** Called once per request by the transport stage. `headers` is `proxyHeaderFlags(...)`. */
  record(peer: string | undefined, client: ClientInfo, headers: number): void;
  /** The requests in the ring, oldest first (a copy: allocates, for the diagnostic only). */
  samples(): ClientSample[];
}

export interface ClientResolutionRecorderOptions {
  /** Requests kept; default 512. */
  capacity?: number;
  /** Clock (epoch ms); default `Date.now`. */
  now?: () => number;
}

/** @throws TypeError when `capacity` is not an integer from 1 to 65536. */
export function createClientResolutionRecorder(options: ClientResolutionRecorderOptions = {}): ClientResolutionRecorder {
  const capacity = options.capacity ?? DEFAULT_SAMPLE_CAPACITY;
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 65536) {
    throw new TypeError(`"capacity" option must be an integer from 1 to 65536, got ${String(capacity)}`);
  }
  const now = options.now ?? Date.now;
  const peers = new Array<string | undefined>(capacity).fill(undefined);
  const clients = new Array<string>(capacity).fill("");
  const flags = new Uint8Array(capacity);
  const times = new Float64Array(capacity);
  let next = 0;
  let recorded = 0;

  return {
    capacity,
    get recorded() {
      return recorded;
    },
    record(peer, client, headers) {
      const i = next;
      peers[i] = peer;
      clients[i] = client.ip;
      flags[i] = headers | (client.viaTrustedProxy ? VIA_TRUSTED_PROXY : 0) | (client.scheme === "https" ? RESOLVED_HTTPS : 0);
      times[i] = now();
      next = i + 1 === capacity ? 0 : i + 1;
      recorded++;
    },
    samples() {
      const count = Math.min(recorded, capacity);
      const out: ClientSample[] = [];
      for (let k = 0; k < count; k++) {
        const i = (next - count + k + capacity) % capacity;
        const bits = flags[i] as number;
        out.push({
          peer: peers[i],
          client: clients[i] as string,
          scheme: bits & RESOLVED_HTTPS ? "https" : "http",
          viaTrustedProxy: (bits & VIA_TRUSTED_PROXY) !== 0,
          headers: bits & ~(VIA_TRUSTED_PROXY | RESOLVED_HTTPS),
          at: times[i] as number,
        });
      }
      return out;
    },
  };
}
