import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClientResolver, parseForwarded, parseTrustedProxies } from "../../src/core/client.ts";

const resolver = (proxies: string[], proxyHeaders: "both" | "x-forwarded" | "forwarded" = "both") =>
  createClientResolver({ trustedProxies: parseTrustedProxies(proxies), proxyHeaders });

describe("client resolution", () => {
  it("ignores X-Forwarded-For from an untrusted peer (spoofing)", () => {
    const resolve = resolver(["10.0.0.0/8"]);
    const client = resolve({ socketAddress: "203.0.113.9", socketEncrypted: false, xForwardedFor: "1.2.3.4", xForwardedProto: "https" });
    assert.deepEqual(client, { ip: "203.0.113.9", scheme: "http", viaTrustedProxy: false });
  });

  it("ignores forwarding headers entirely when no proxy is trusted", () => {
    const resolve = resolver([]);
    const client = resolve({ socketAddress: "127.0.0.1", socketEncrypted: false, xForwardedFor: "1.2.3.4", forwarded: "for=5.6.7.8;proto=https" });
    assert.equal(client.ip, "127.0.0.1");
    assert.equal(client.scheme, "http");
  });

  it("chooses the right-most untrusted hop behind two trusted proxies", () => {
    const resolve = resolver(["10.0.0.1", "10.0.0.2"]);
    // The client forged "6.6.6.6"; the edge proxy 10.0.0.2 appended the real address 198.51.100.7.
    const client = resolve({ socketAddress: "10.0.0.1", socketEncrypted: false, xForwardedFor: "6.6.6.6, 198.51.100.7, 10.0.0.2" });
    assert.equal(client.ip, "198.51.100.7");
  });

  it("believes X-Forwarded-Proto only from a trusted proxy, reading the nearest value", () => {
    const resolve = resolver(["10.0.0.1"]);
    assert.equal(resolve({ socketAddress: "10.0.0.1", socketEncrypted: false, xForwardedProto: "https" }).scheme, "https");
    assert.equal(resolve({ socketAddress: "10.0.0.1", socketEncrypted: false, xForwardedProto: "https, http" }).scheme, "http");
    assert.equal(resolve({ socketAddress: "10.0.0.9", socketEncrypted: false, xForwardedProto: "https" }).scheme, "http");
  });

  it("reads RFC 7239 Forwarded, quoted IPv6 with port included", () => {
    const resolve = resolver(["10.0.0.1"]);
    const client = resolve({ socketAddress: "10.0.0.1", socketEncrypted: false, forwarded: 'for="[2001:db8:cafe::17]:4711";proto=https' });
    assert.equal(client.ip, "2001:db8:cafe::17");
    assert.equal(client.scheme, "https");
  });

  it("can be limited to one header family", () => {
    const resolve = resolver(["10.0.0.1"], "x-forwarded");
    const client = resolve({ socketAddress: "10.0.0.1", socketEncrypted: false, forwarded: "for=5.6.7.8;proto=https", xForwardedFor: "1.2.3.4" });
    assert.equal(client.ip, "1.2.3.4");
    assert.equal(client.scheme, "http");
  });

  it("stops at a hop that is not an address instead of believing what lies beyond", () => {
    const resolve = resolver(["10.0.0.1"]);
    assert.equal(resolve({ socketAddress: "10.0.0.1", socketEncrypted: false, xForwardedFor: "1.2.3.4, garbage" }).ip, "10.0.0.1");
    assert.equal(resolve({ socketAddress: "10.0.0.1", socketEncrypted: false, forwarded: "for=unknown" }).ip, "10.0.0.1");
  });

  it("matches IPv6 CIDRs and folds IPv4-mapped addresses", () => {
    const proxies = parseTrustedProxies(["fd00::/8", "192.168.1.0/24"]);
    assert.equal(proxies.isTrusted("fd12::1"), true);
    assert.equal(proxies.isTrusted("fe80::1"), false);
    assert.equal(proxies.isTrusted("::ffff:192.168.1.20"), true);
    const resolve = resolver(["192.168.1.0/24"]);
    assert.equal(resolve({ socketAddress: "::ffff:192.168.1.5", socketEncrypted: true, xForwardedFor: "2001:db8::1" }).ip, "2001:db8::1");
  });

  it("names an invalid proxy entry", () => {
    assert.throws(() => parseTrustedProxies(["10.0.0.1", "10.0.0.300"]), /10\.0\.0\.300/);
  });

  it("parses Forwarded elements with quoted separators", () => {
    assert.deepEqual(parseForwarded('for="a,b";proto=http, for=1.2.3.4'), [{ for: "a,b", proto: "http" }, { for: "1.2.3.4" }]);
  });
});
