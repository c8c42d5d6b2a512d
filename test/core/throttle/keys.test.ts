import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { normalizeEmail, throttleKeys } from "../../../src/core/throttle/keys.ts";

describe("throttleKeys", () => {
  it("normalises emails by trim and lower case, like the identity layer", () => {
    assert.equal(normalizeEmail("  Alice@Example.COM\n"), "alice@example.com");
    assert.deepEqual(throttleKeys(" Alice@Example.COM", "1.2.3.4"), throttleKeys("alice@example.com", "1.2.3.4"));
  });

  it("never holds a raw email or address, and is fixed-length hex", () => {
    const keys = throttleKeys("alice@example.com", "{evil}:2001:db8::1");
    for (const part of [keys.email, keys.client]) assert.match(part, /^[0-9a-f]{32}$/);
    assert.notEqual(throttleKeys("a@x", "c").email, throttleKeys("b@x", "c").email);
    assert.notEqual(throttleKeys("a@x", "c1").client, throttleKeys("a@x", "c2").client);
  });
});
