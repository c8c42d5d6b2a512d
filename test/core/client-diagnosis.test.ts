/**
 * The client-resolution diagnosis over requests run through the real resolver: the "one untrusted
 * proxy in front" pattern is named with the fix, diverse direct clients raise nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ClientRequestFacts, createClientResolver, parseTrustedProxies } from "../../src/core/client.ts";
import {
  type ClientResolutionSetup,
  type ClientResolutionWarningCode,
  describeClientResolution,
  honouredHeaders,
  summariseClientResolution,
} from "../../src/core/client-diagnosis.ts";
import { createClientResolutionRecorder, proxyHeaderFlags } from "../../src/core/client-recorder.ts";

function setupOf(trustedProxies: string[], more: Partial<ClientResolutionSetup> = {}): ClientResolutionSetup {
  return { trustedProxies, proxies: parseTrustedProxies(trustedProxies), proxyHeaders: "both", httpsEnforced: false, httpsRedirect: false, nativeTls: false, ...more };
}

/** Resolves and records each request as the transport stage does, then summarises. */
function diagnose(setup: ClientResolutionSetup, requests: Omit<ClientRequestFacts, "socketEncrypted">[]) {
  const resolve = createClientResolver({ trustedProxies: setup.proxies, proxyHeaders: setup.proxyHeaders });
  const recorder = createClientResolutionRecorder({ now: () => 0 });
  for (const facts of requests) {
    const client = resolve({ ...facts, socketEncrypted: false });
    recorder.record(facts.socketAddress, client, proxyHeaderFlags({ forwarded: facts.forwarded, "x-forwarded-for": facts.xForwardedFor, "x-forwarded-proto": facts.xForwardedProto }));
  }
  return summariseClientResolution(recorder.samples(), setup);
}

const codes = (summary: { warnings: { code: ClientResolutionWarningCode }[] }) => summary.warnings.map((w) => w.code);
const times = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));

describe("client-resolution diagnosis", () => {
  it("one untrusted proxy sending X-Forwarded-For: every request from its address, and the fix names the key and env var", () => {
    const summary = diagnose(setupOf([]), times(30, (i) => ({ socketAddress: "::ffff:10.0.0.5", xForwardedFor: `203.0.113.${i}` })));
    assert.deepEqual(codes(summary), ["RAMPART_WARN_ONE_CLIENT_ADDRESS"], "one warning, not one more per peer for the same proxy");
    const message = summary.warnings[0]?.message ?? "";
    assert.match(message, /every request seems to come from 10\.0\.0\.5/);
    assert.match(message, /X-Forwarded-For but is not a trusted proxy/);
    assert.match(message, /trustedProxies \(env RAMPART_TRUSTED_PROXIES\) to 10\.0\.0\.5/);
    assert.deepEqual(summary.peers, [{ value: "10.0.0.5", count: 30 }], "peers are normalised (IPv4-mapped folded)");
    assert.deepEqual(summary.clients, [{ value: "10.0.0.5", count: 30 }]);
    assert.deepEqual(summary.schemes, [{ value: "http", count: 30 }]);
    assert.equal(summary.proxyHeadersIgnored, 30);
    assert.equal(summary.withProxyHeaders, 30);
    assert.equal(summary.fromTrustedProxies, 0);
  });

  it("diverse direct clients: no warning", () => {
    const summary = diagnose(setupOf([]), times(100, (i) => ({ socketAddress: `198.51.100.${i}` })));
    assert.deepEqual(summary.warnings, []);
    assert.equal(summary.clients.length, 10, "tallies keep the top 10");
    assert.equal(summary.size, 100);
  });

  it("the one-address warning needs the minimum sample (20)", () => {
    const few = diagnose(setupOf([]), times(19, () => ({ socketAddress: "10.0.0.5", xForwardedFor: "203.0.113.1" })));
    assert.deepEqual(codes(few), ["RAMPART_WARN_PROXY_HEADERS_IGNORED"], "still: its headers were ignored");
    assert.match(few.warnings[0]?.message ?? "", /19 of 19 sampled requests from 10\.0\.0\.5 carried X-Forwarded-For/);
  });

  it("one public client without forwarding headers is just one client: no warning", () => {
    assert.deepEqual(diagnose(setupOf([]), times(40, () => ({ socketAddress: "203.0.113.50" }))).warnings, []);
  });

  it("one internal address without forwarding headers: warns that a proxy may hide the clients", () => {
    const summary = diagnose(setupOf([]), times(40, () => ({ socketAddress: "172.18.0.1" })));
    assert.deepEqual(codes(summary), ["RAMPART_WARN_ONE_CLIENT_ADDRESS"]);
    assert.match(summary.warnings[0]?.message ?? "", /172\.18\.0\.1.*none carried X-Forwarded-For or Forwarded.*RAMPART_TRUSTED_PROXIES/);
  });

  it("a trusted proxy forwarding diverse clients: clients come from X-Forwarded-For, no warning", () => {
    const summary = diagnose(
      setupOf(["10.0.0.0/8"]),
      times(40, (i) => ({ socketAddress: "10.0.0.5", xForwardedFor: `198.51.100.${i}`, xForwardedProto: "https" })),
    );
    assert.deepEqual(summary.warnings, []);
    assert.equal(summary.fromTrustedProxies, 40);
    assert.equal(summary.proxyHeadersIgnored, 0);
    assert.deepEqual(summary.schemes, [{ value: "https", count: 40 }]);
    assert.deepEqual(summary.peers, [{ value: "10.0.0.5", count: 40 }]);
  });

  it("a trusted proxy that names no client: every request is the proxy's own address", () => {
    const summary = diagnose(setupOf(["10.0.0.5"]), times(25, () => ({ socketAddress: "10.0.0.5" })));
    assert.deepEqual(codes(summary), ["RAMPART_WARN_ONE_CLIENT_ADDRESS"]);
    assert.match(summary.warnings[0]?.message ?? "", /a trusted proxy that names no other client/);
  });

  it("a second, untrusted proxy in front of a trusted one is named with the fix", () => {
    const summary = diagnose(setupOf(["10.0.0.5"]), times(25, (i) => ({ socketAddress: "10.0.0.5", xForwardedFor: `198.51.100.${i}, 192.168.7.7` })));
    assert.deepEqual(codes(summary), ["RAMPART_WARN_ONE_CLIENT_ADDRESS"]);
    assert.match(summary.warnings[0]?.message ?? "", /192\.168\.7\.7.*trusted proxy 10\.0\.0\.5 names as the client.*add it/);
  });

  it("X-Forwarded-Proto: https from an untrusted peer while HTTPS is enforced: says the requests were refused", () => {
    const requests = times(3, () => ({ socketAddress: "10.0.0.9", xForwardedProto: "https" }));
    const enforced = diagnose(setupOf([], { httpsEnforced: true }), requests);
    assert.deepEqual(codes(enforced), ["RAMPART_WARN_PROXY_HEADERS_IGNORED", "RAMPART_WARN_FORWARDED_HTTPS_IGNORED"]);
    assert.match(enforced.warnings[1]?.message ?? "", /3 sampled requests from 10\.0\.0\.9 said X-Forwarded-Proto: https.*refused with 403.*https\.enforce.*RAMPART_TRUSTED_PROXIES/);
    assert.deepEqual(codes(diagnose(setupOf([]), requests)), ["RAMPART_WARN_PROXY_HEADERS_IGNORED"], "not enforced: nothing refused");
  });

  it("a trusted proxy sending only the header kind proxyHeaders excludes", () => {
    const summary = diagnose(
      setupOf(["10.0.0.5"], { proxyHeaders: "forwarded" }),
      times(5, (i) => ({ socketAddress: "10.0.0.5", xForwardedFor: `198.51.100.${i}` })),
    );
    assert.deepEqual(codes(summary), ["RAMPART_WARN_PROXY_HEADERS_NOT_HONOURED"]);
    assert.match(summary.warnings[0]?.message ?? "", /proxyHeaders "forwarded".*set proxyHeaders to "x-forwarded" or "both"/);
  });

  it("many spoofing peers: at most three per-peer warnings and a count of the rest", () => {
    const summary = diagnose(setupOf([]), times(10, (i) => ({ socketAddress: `198.51.100.${i}`, xForwardedFor: "1.1.1.1" })));
    assert.deepEqual(codes(summary), Array(4).fill("RAMPART_WARN_PROXY_HEADERS_IGNORED"));
    assert.match(summary.warnings[3]?.message ?? "", /and 7 more peers/);
  });

  it("describes the configuration in words", () => {
    const none = describeClientResolution(setupOf([]));
    assert.match(none.clientIp, /^the socket address \(no trusted proxies\); X-Forwarded-For and Forwarded are ignored/);
    assert.match(none.https, /not enforced/);
    const behind = describeClientResolution(setupOf(["10.0.0.0/8"], { httpsEnforced: true }));
    assert.match(behind.clientIp, /trusted proxies: 10\.0\.0\.0\/8; .*X-Forwarded-For, the rightmost address not in the trusted list/);
    assert.match(behind.scheme, /X-Forwarded-Proto/);
    assert.match(behind.https, /refused \(403\)/);
    assert.deepEqual(honouredHeaders(setupOf([])), []);
    assert.deepEqual(honouredHeaders(setupOf(["::1"], { proxyHeaders: "x-forwarded" })), ["X-Forwarded-For", "X-Forwarded-Proto"]);
  });
});
