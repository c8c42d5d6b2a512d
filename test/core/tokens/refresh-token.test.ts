import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { generateRefreshToken, hashRefreshToken, isRefreshTokenShaped } from "../../../src/core/tokens/refresh-token.ts";

describe("refresh tokens", () => {
  it("32 random bytes, base64url, stored as SHA-256 hex", () => {
    const { token, tokenHash } = generateRefreshToken();
    assert.equal(Buffer.from(token, "base64url").length, 32);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(tokenHash, createHash("sha256").update(token).digest("hex"));
    assert.equal(hashRefreshToken(token), tokenHash);
  });

  it("tokens are distinct", () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generateRefreshToken().token));
    assert.equal(seen.size, 1000);
  });

  it("shape check refuses garbage before any lookup", () => {
    assert.equal(isRefreshTokenShaped(generateRefreshToken().token), true);
    for (const bad of [undefined, 1, "", "a".repeat(42), "a".repeat(44), `${"a".repeat(42)}=`, `${"a".repeat(42)}+`]) {
      assert.equal(isRefreshTokenShaped(bad), false);
    }
  });
});
