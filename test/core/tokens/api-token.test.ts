import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  API_TOKEN_LENGTH,
  apiTokenMatchesHash,
  generateApiToken,
  hashApiToken,
  parseApiToken,
} from "../../../src/core/tokens/api-token.ts";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

const reasonOf = (value: unknown): string | undefined => {
  try {
    parseApiToken(value);
    return undefined;
  } catch (error) {
    assert.equal((error as { code: string }).code, "RAMPART_ERR_INVALID_TOKEN");
    return (error as { reason: string }).reason;
  }
};

describe("API tokens", () => {
  it("format: rmp_ + 43 base62 + 6-char checksum, display prefix, SHA-256 hash", () => {
    const { token, prefix, secretHash } = generateApiToken();
    assert.match(token, /^rmp_[0-9A-Za-z]{49}$/);
    assert.equal(token.length, API_TOKEN_LENGTH);
    assert.equal(prefix, token.slice(0, 12));
    assert.match(secretHash, /^[0-9a-f]{64}$/);
    assert.equal(secretHash, hashApiToken(token));
    assert.deepEqual(parseApiToken(token), { token, prefix });
  });

  it("tokens are distinct", () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generateApiToken().token));
    assert.equal(seen.size, 1000);
  });

  it("refuses garbage without any lookup, naming why", () => {
    const { token } = generateApiToken();
    assert.equal(reasonOf(42), "api token: not a string");
    assert.equal(reasonOf(`ghp_${token.slice(4)}`), "api token: wrong prefix");
    assert.equal(reasonOf(`${token}a`), "api token: wrong length");
    assert.equal(reasonOf(`${token.slice(0, -1)}-`), "api token: wrong charset");
  });

  it("a one-character flip anywhere after the prefix fails the checksum", () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: API_TOKEN_LENGTH - 1 }), fc.integer({ min: 1, max: 61 }), (index, shift) => {
        const { token } = generateApiToken();
        const flipped = BASE62[(BASE62.indexOf(token[index]!) + shift) % 62]!;
        const mutated = token.slice(0, index) + flipped + token.slice(index + 1);
        assert.equal(reasonOf(mutated), "api token: bad checksum");
      }),
      { numRuns: 500 },
    );
  });

  it("random well-shaped strings never pass the checksum", () => {
    const body = fc.string({ unit: fc.constantFrom(...BASE62), minLength: 49, maxLength: 49 });
    fc.assert(
      fc.property(body, (s) => {
        assert.notEqual(reasonOf(`rmp_${s}`), undefined);
      }),
      { numRuns: 2000 },
    );
  });

  it("arbitrary strings never parse", () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => reasonOf(s) !== undefined));
  });

  it("hash comparison is constant-time and exact", () => {
    const { token, secretHash } = generateApiToken();
    assert.equal(apiTokenMatchesHash(token, secretHash), true);
    assert.equal(apiTokenMatchesHash(token, secretHash.replace(/.$/, (c) => (c === "0" ? "1" : "0"))), false);
    assert.equal(apiTokenMatchesHash(token, secretHash.slice(1)), false);
    assert.equal(apiTokenMatchesHash(generateApiToken().token, secretHash), false);
  });
});
