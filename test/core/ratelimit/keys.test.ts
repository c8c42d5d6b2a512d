import assert from "node:assert/strict";
import net from "node:net";
import { describe, test } from "node:test";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { bucketKey, clientKey, keyIdentity, principalKey, scopedKey } from "../../../src/core/ratelimit/keys.ts";
import { parsePolicy } from "../../../src/core/ratelimit/policy.ts";

describe("clientKey", () => {
  test("IPv4 addresses key as themselves", () => {
    assert.equal(clientKey("203.0.113.7"), "ip:203.0.113.7");
    assert.equal(clientKey("203.0.113.7", { ipv4Prefix: 24 }), "ip:203.0.113.0/24");
  });

  test("IPv4-mapped IPv6 is the IPv4 client, in every spelling", () => {
    for (const ip of ["::ffff:203.0.113.7", "::FFFF:203.0.113.7", "0:0:0:0:0:ffff:cb00:7107", "::ffff:cb00:7107"]) {
      assert.equal(clientKey(ip), "ip:203.0.113.7", ip);
    }
  });

  test("IPv6 clients share a bucket per /56 by default: rotating within a /64 gains nothing", () => {
    const a = clientKey("2001:db8:1234:5600::1");
    assert.equal(a, "ip:2001:db8:1234:5600::/56");
    assert.equal(clientKey("2001:db8:1234:5600:ffff:ffff:ffff:ffff"), a);
    assert.equal(clientKey("2001:db8:1234:56ff::9"), a, "same /56, another /64");
    assert.notEqual(clientKey("2001:db8:1234:5700::1"), a, "next /56");
    assert.equal(clientKey("2001:db8::1", { ipv6Prefix: 128 }), "ip:2001:db8::1");
    assert.equal(clientKey("2001:db8:1:2::1", { ipv6Prefix: 48 }), "ip:2001:db8:1::/48");
  });

  test("IPv4-compatible ::1.2.3.4 (deprecated, RFC 4291 §2.5.5.1) is an IPv6 address, not the IPv4 client", () => {
    assert.equal(clientKey("::1.2.3.4", { ipv6Prefix: 128 }), "ip:::102:304");
  });

  test("textual variants of one IPv6 address give one key", () => {
    const variants = ["2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8:0:0::1", "2001:db8::0:1", "2001:db8::1%eth0"];
    for (const ip of variants) assert.equal(clientKey(ip, { ipv6Prefix: 128 }), "ip:2001:db8::1", ip);
  });

  test("rejects what is not an address, and non-canonical IPv4 forms", () => {
    for (const ip of ["", "localhost", "1.2.3", "01.2.3.4", "0x7f.0.0.1", "1.2.3.4/24", "::g", " 1.2.3.4"]) {
      assert.throws(() => clientKey(ip), TypeError, ip);
    }
    assert.throws(() => clientKey("::1", { ipv6Prefix: 0 }), /"ipv6Prefix" option must be an integer from 1 to 128/);
    assert.throws(() => clientKey("1.2.3.4", { ipv4Prefix: 33 }), /"ipv4Prefix"/);
  });
});

/**
 * The same key, computed the slow, obviously right way with ipaddr.js. A dotted tail is rewritten as hex
 * first: ipaddr.js 2.x reads the IPv4-compatible `::1.2.3.4` as IPv4-mapped `::ffff:1.2.3.4`.
 */
function oracle(ip: string, ipv6Prefix = 56): string {
  const hexTail = (_: string, a: string, b: string, c: string, d: string) =>
    `:${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`;
  const bare = ip.split("%")[0]!;
  const address = ipaddr.parse(net.isIPv6(bare) ? bare.replace(/:(\d+)\.(\d+)\.(\d+)\.(\d+)$/, hexTail) : bare);
  if (address.kind() === "ipv4") return `ip:${address.toString()}`;
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return `ip:${v6.toIPv4Address().toString()}`;
  const bytes = v6.toByteArray().map((byte, i) => {
    const bits = ipv6Prefix - 8 * i;
    return bits >= 8 ? byte : bits <= 0 ? 0 : byte & (0xff << (8 - bits)) & 0xff;
  });
  const text = (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
  return ipv6Prefix === 128 ? `ip:${text}` : `ip:${text}/${ipv6Prefix}`;
}

/** Textual variants of one address: leading zeros, upper case, any zero run compressed, a dotted tail. */
function spellings(groups: readonly number[]): string[] {
  const hex = groups.map((g) => g.toString(16));
  const out = [hex.join(":"), groups.map((g) => g.toString(16).padStart(4, "0")).join(":"), hex.join(":").toUpperCase()];
  for (let i = 0; i < 8; i++) {
    for (let j = i; j < 8 && groups[j] === 0; j++) out.push(`${hex.slice(0, i).join(":")}::${hex.slice(j + 1).join(":")}`);
  }
  const [g6, g7] = [groups[6]!, groups[7]!];
  out.push(`${hex.slice(0, 6).join(":")}:${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`);
  return out;
}

describe("clientKey against ipaddr.js", () => {
  const group = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
  const mappedOr = fc.oneof(
    fc.array(group, { minLength: 8, maxLength: 8 }),
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 2, maxLength: 2 }).map((tail) => [0, 0, 0, 0, 0, 0xffff, ...tail]),
  );

  test("property: every spelling of an address gives the oracle's key, at any prefix", () => {
    fc.assert(
      fc.property(mappedOr, fc.integer({ min: 1, max: 128 }), (groups, prefix) => {
        const expected = oracle(spellings(groups)[0]!, prefix);
        for (const spelling of spellings(groups)) {
          assert.ok(net.isIPv6(spelling), spelling);
          assert.equal(clientKey(spelling, { ipv6Prefix: prefix }), expected, spelling);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("property: fast-check's IPv6 addresses and arbitrary near-misses agree with node:net and the oracle", () => {
    const nearMiss = fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF:.%"), maxLength: 45 });
    fc.assert(
      fc.property(fc.oneof(fc.ipV6(), fc.ipV4(), nearMiss), (ip) => {
        if (net.isIP(ip) === 0) assert.throws(() => clientKey(ip), TypeError, ip);
        else assert.equal(clientKey(ip), oracle(ip), ip);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("principal and scoped keys", () => {
  test("kinds are prefixed so they never collide", () => {
    assert.notEqual(principalKey("1.2.3.4"), clientKey("1.2.3.4"));
    assert.equal(principalKey("u_42"), "p:u_42");
  });

  test("user input cannot forge a hash tag, a scope or a bucket separator", () => {
    const key = principalKey("evil}{ip:1.2.3.4}#x|y");
    assert.equal(key, "p:evil%7D%7Bip%3A1.2.3.4%7D%23x%7Cy");
    assert.doesNotMatch(key, /[{}#|]/);
    const scoped = scopedKey(key, "GET /notes/{id}#frag");
    assert.equal(keyIdentity(scoped), key);
    assert.equal(scoped.split("#").length, 2);
    assert.throws(() => principalKey("\uD800"), /not well-formed Unicode/);
    assert.throws(() => principalKey(""), TypeError);
    assert.throws(() => scopedKey(key, ""), TypeError);
  });

  test("scopes keep the identity, so every bucket of one client shares one cluster slot", () => {
    const ip = clientKey("203.0.113.7");
    assert.equal(keyIdentity(scopedKey(ip, "POST /auth/login")), ip);
    assert.equal(keyIdentity(ip), ip);
  });

  test("bucket keys differ by policy name and by rate", () => {
    const a = bucketKey("p:u", parsePolicy("burst", "10/second"));
    assert.equal(a, "p:u|burst/10/1000/10");
    assert.notEqual(bucketKey("p:u", parsePolicy("burst", "20/second")), a);
    assert.notEqual(bucketKey("p:u", parsePolicy("sustained", "10/second")), a);
  });
});
