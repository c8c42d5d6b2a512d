/** The client-resolution ring: bounded, oldest first, and the header bits it keeps per request. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createClientResolutionRecorder,
  FORWARDED_SAYS_HTTPS,
  proxyHeaderFlags,
  SENT_FORWARDED,
  SENT_X_FORWARDED_FOR,
  SENT_X_FORWARDED_PROTO,
  X_FORWARDED_PROTO_SAYS_HTTPS,
} from "../../src/core/client-recorder.ts";

const direct = (ip: string) => ({ ip, scheme: "http" as const, viaTrustedProxy: false });

describe("client-resolution recorder", () => {
  it("keeps only the last `capacity` requests, however many are recorded", () => {
    let clock = 0;
    const recorder = createClientResolutionRecorder({ now: () => ++clock });
    assert.equal(recorder.capacity, 512);
    for (let i = 0; i < 10_000; i++) recorder.record(`10.0.${i >> 8}.${i & 255}`, direct(`198.51.${i >> 8}.${i & 255}`), 0);
    const samples = recorder.samples();
    assert.equal(recorder.recorded, 10_000);
    assert.equal(samples.length, 512);
    // Oldest first: requests 9488 … 9999.
    assert.equal(samples[0]?.at, 9489);
    assert.equal(samples.at(-1)?.at, 10_000);
    assert.equal(samples.at(-1)?.client, `198.51.${9999 >> 8}.${9999 & 255}`);
    assert.equal(samples.at(-1)?.peer, `10.0.${9999 >> 8}.${9999 & 255}`);
  });

  it("returns fewer samples than capacity until the ring is full, with scheme, trust and header bits", () => {
    const recorder = createClientResolutionRecorder({ capacity: 4, now: () => 1000 });
    assert.deepEqual(recorder.samples(), []);
    recorder.record("10.0.0.1", { ip: "203.0.113.9", scheme: "https", viaTrustedProxy: true }, SENT_X_FORWARDED_FOR | SENT_X_FORWARDED_PROTO);
    recorder.record(undefined, direct("0.0.0.0"), 0);
    assert.deepEqual(recorder.samples(), [
      { peer: "10.0.0.1", client: "203.0.113.9", scheme: "https", viaTrustedProxy: true, headers: SENT_X_FORWARDED_FOR | SENT_X_FORWARDED_PROTO, at: 1000 },
      { peer: undefined, client: "0.0.0.0", scheme: "http", viaTrustedProxy: false, headers: 0, at: 1000 },
    ]);
  });

  it("refuses a capacity that is not a small positive integer, naming the option", () => {
    for (const capacity of [0, -1, 1.5, 70_000, Number.NaN]) {
      assert.throws(() => createClientResolutionRecorder({ capacity }), (error: Error) => error instanceof TypeError && /"capacity"/.test(error.message));
    }
  });

  it("proxyHeaderFlags: which forwarding headers came, and whether the value the resolver reads says https", () => {
    assert.equal(proxyHeaderFlags({}), 0);
    assert.equal(proxyHeaderFlags({ "x-forwarded-for": "1.2.3.4" }), SENT_X_FORWARDED_FOR);
    assert.equal(proxyHeaderFlags({ "x-forwarded-proto": "https" }), SENT_X_FORWARDED_PROTO | X_FORWARDED_PROTO_SAYS_HTTPS);
    // The rightmost value is the nearest proxy's; the resolver reads that one.
    assert.equal(proxyHeaderFlags({ "x-forwarded-proto": "https, http" }), SENT_X_FORWARDED_PROTO);
    assert.equal(proxyHeaderFlags({ "x-forwarded-proto": ["http", "HTTPS"] }), SENT_X_FORWARDED_PROTO | X_FORWARDED_PROTO_SAYS_HTTPS);
    assert.equal(proxyHeaderFlags({ forwarded: 'for="[2001:db8::1]";proto=https' }), SENT_FORWARDED | FORWARDED_SAYS_HTTPS);
    assert.equal(proxyHeaderFlags({ forwarded: "for=1.2.3.4;proto=https;host=a.example" }), SENT_FORWARDED | FORWARDED_SAYS_HTTPS);
    assert.equal(proxyHeaderFlags({ forwarded: "for=1.2.3.4;proto=https, for=10.0.0.2" }), SENT_FORWARDED);
  });
});
