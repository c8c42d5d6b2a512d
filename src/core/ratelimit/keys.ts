/**
 * Rate-limit keys. A key is `<identity>` or `<identity>#<scope>`:
 *
 *   ip:203.0.113.7            an IPv4 client
 *   ip:2001:db8:1200::/56     an IPv6 client, grouped by prefix
 *   p:<principal>             an authenticated principal (user or API token id)
 *   <identity>#<scope>        the same identity limited separately for one scope, e.g. a route
 *
 * Kinds are prefixed so a principal named "1.2.3.4" is never the client 1.2.3.4. Anything that may come
 * from a user is percent-encoded, so it can never contain `#`, the bucket separator `|`, or the braces of a
 * Redis Cluster hash tag (which would let a user pick the slot of, or collide with, another key).
 *
 * Hash tags: the Redis store writes a bucket as `<prefix>{<identity>}#<scope>|<policy>`, so all buckets of
 * one identity (global and per-route, every stacked policy) share one cluster slot and one Lua call decides
 * them atomically. Hence one consume concerns ONE identity: the per-IP limit (pipeline stage 4) and the
 * per-principal limits (stage 7) are separate consumes.
 */
import net from "node:net";
import type { RateLimitPolicy } from "./policy.ts";

export interface ClientKeyOptions {
  /**
   * IPv6 clients are limited per prefix, not per address: one subscriber is routinely given a /56 or a
   * /48 (RFC 6177) and can rotate through 2^72 addresses, which would defeat per-address limits.
   * Default 56: two addresses in one /64 always share a bucket.
   */
  readonly ipv6Prefix?: number;
  /** Default 32 (one bucket per IPv4 address). */
  readonly ipv4Prefix?: number;
}

/**
 * The key of a client address. Textual variants of one address (case, leading zeros, zero compression,
 * IPv4-mapped `::ffff:1.2.3.4`, zone ids) give one key.
 * @throws TypeError when `ip` is not an IP address or a prefix option is out of range.
 * @example clientKey("2001:db8::1") // "ip:2001:db8::/56"
 */
export function clientKey(ip: string, options: ClientKeyOptions = {}): string {
  const v4 = checkPrefix("ipv4Prefix", options.ipv4Prefix ?? 32, 32);
  const v6 = checkPrefix("ipv6Prefix", options.ipv6Prefix ?? 56, 128);
  // Node accepts only canonical dotted quads (no octal, hex or short forms), so the text is the identity.
  if (net.isIPv4(ip)) return v4 === 32 ? `ip:${ip}` : ipv4Key(ip.split(".").map(Number), v4);
  const groups = ipv6Groups(ip);
  if (isIPv4Mapped(groups)) {
    const [high, low] = [groups[6]!, groups[7]!];
    return clientKey(`${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`, options);
  }
  for (let i = 0; i < 8; i++) groups[i]! &= mask(16, v6 - 16 * i);
  return v6 === 128 ? `ip:${formatIPv6(groups)}` : `ip:${formatIPv6(groups)}/${v6}`;
}

/**
 * The key of an authenticated principal (user id, API token id).
 * @throws TypeError when `id` is empty or not a well-formed string.
 */
export function principalKey(id: string): string {
  if (typeof id !== "string" || id.length === 0) throw new TypeError("principalKey: id must be a non-empty string");
  return `p:${encode("principalKey", id)}`;
}

/**
 * `key` limited separately within `scope` (e.g. `"POST /auth/login"`); same identity, so same cluster slot.
 * @throws TypeError when `scope` is empty or not a well-formed string.
 */
export function scopedKey(key: string, scope: string): string {
  if (typeof scope !== "string" || scope.length === 0) throw new TypeError("scopedKey: scope must be a non-empty string");
  return `${key}#${encode("scopedKey", scope)}`;
}

/** The identity part of a key: what the Redis store uses as the cluster hash tag. */
export function keyIdentity(key: string): string {
  const hash = key.indexOf("#");
  return hash === -1 ? key : key.slice(0, hash);
}

/**
 * Where one policy's state for `key` lives. The policy's numbers are part of it, so two policies that
 * share a name but not a rate never share (and corrupt) one TAT.
 */
export function bucketKey(key: string, policy: RateLimitPolicy): string {
  let suffix = suffixes.get(policy);
  if (suffix === undefined) {
    suffix = `|${policy.name}/${policy.limit}/${policy.periodMs}/${policy.burst}`;
    suffixes.set(policy, suffix);
  }
  return key + suffix;
}

// Memo of a pure function (policies are frozen): spares the hot path four number-to-string conversions.
const suffixes = new WeakMap<RateLimitPolicy, string>();

function ipv4Key(octets: number[], prefix: number): string {
  return `ip:${octets.map((octet, i) => octet & mask(8, prefix - 8 * i)).join(".")}/${prefix}`;
}

/** The bits of a `width`-bit field kept by a prefix reaching `bits` into it. */
function mask(width: number, bits: number): number {
  return bits >= width ? 2 ** width - 1 : bits <= 0 ? 0 : (2 ** width - 1) & ~(2 ** (width - bits) - 1);
}

/**
 * The eight 16-bit groups of an IPv6 address: validated by `node:net`, then read in one pass of char
 * codes (string splitting costs microseconds here, and this runs on every request).
 */
function ipv6Groups(ip: string): number[] {
  if (!net.isIPv6(ip)) throw new TypeError(`clientKey: ${JSON.stringify(ip)} is not an IP address`);
  const zone = ip.indexOf("%"); // fe80::1%eth0: the zone names a local interface, not another client
  const address = zone === -1 ? ip : ip.slice(0, zone);
  const head: number[] = [];
  const tail: number[] = [];
  let groups = head; // until "::", then tail
  let value = 0;
  let digits = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 0x3a /* : */) {
      if (digits > 0) groups.push(value);
      if (address.charCodeAt(i + 1) === 0x3a) {
        groups = tail;
        i++;
      }
      value = digits = 0;
    } else if (c === 0x2e /* . */) {
      // A dotted IPv4 tail (RFC 4291 §2.2, third form) is the last two groups.
      const octets = address.slice(address.lastIndexOf(":") + 1).split(".").map(Number);
      groups.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
      digits = 0;
      break;
    } else {
      value = value * 16 + (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
      digits++;
    }
  }
  if (digits > 0) groups.push(value);
  while (head.length + tail.length < 8) head.push(0);
  return head.concat(tail);
}

function isIPv4Mapped(groups: readonly number[]): boolean {
  return groups[5] === 0xffff && groups.slice(0, 5).every((group) => group === 0);
}

/** RFC 5952 §4: lowercase, no leading zeros, the first longest run of two or more zero groups as `::`. */
function formatIPv6(groups: readonly number[]): string {
  let start = -1;
  let length = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > length) {
      start = i;
      length = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  let text = "";
  for (let i = 0; i < 8; i++) {
    if (i === start) {
      text += "::";
      i += length - 1;
    } else {
      text += (i === 0 || i === start + length ? "" : ":") + groups[i]!.toString(16);
    }
  }
  return text;
}

function checkPrefix(option: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new TypeError(`clientKey: "${option}" option must be an integer from 1 to ${max}, got ${value}`);
  }
  return value;
}

function encode(fn: string, text: string): string {
  try {
    return encodeURIComponent(text);
  } catch (cause) {
    throw new TypeError(`${fn}: ${JSON.stringify(text)} is not well-formed Unicode`, { cause });
  }
}
