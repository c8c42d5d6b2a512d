/** What `rampart gateway` cannot start without, named like config errors (src/gateway/compose.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.ts";
import { assertGatewayConfig } from "../../src/gateway/compose.ts";

const config = (env: Record<string, string>, overrides: Record<string, unknown> = {}) => loadConfig({ env, overrides });

describe("gateway settings", () => {
  it("needs an upstream origin and a policy file, each named", () => {
    assert.throws(() => assertGatewayConfig(config({})), /RAMPART_UPSTREAM.*\n.*RAMPART_POLICY/s);
    assert.throws(() => assertGatewayConfig(config({ RAMPART_UPSTREAM: "http://127.0.0.1:8000/api", RAMPART_POLICY: "p.yaml" })), /\/gateway\/upstream: must be an origin/);
    assert.throws(() => assertGatewayConfig(config({ RAMPART_UPSTREAM: "http://user:pw@127.0.0.1:8000", RAMPART_POLICY: "p.yaml" })), /\/gateway\/upstream/);
    assert.equal(assertGatewayConfig(config({ RAMPART_UPSTREAM: "http://127.0.0.1:8000", RAMPART_POLICY: "p.yaml" })).upstream.origin, "http://127.0.0.1:8000");
  });

  it("refuses HS256: the upstream verifies assertions against the JWKS, which publishes no HMAC key", () => {
    const hs256 = config({ RAMPART_UPSTREAM: "http://127.0.0.1:8000", RAMPART_POLICY: "p.yaml" }, { tokens: { algorithm: "HS256", hs256Secret: "k7Qz9xV2mP4wR8tY1uI6oA3sD5fG0hJL" } });
    assert.throws(() => assertGatewayConfig(hs256), /\/tokens\/algorithm/);
  });
});
