/**
 * Both Ed25519 checks (libsodium and node:crypto) must refuse every altered signature, message and key,
 * and agree with each other; and where sodium-native is installed, it must actually be the one in use.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { type Ed25519Check, ed25519Backend, ed25519Check, nodeEd25519Check, sodiumEd25519Check } from "../../../src/core/tokens/ed25519.ts";

// The order of the Ed25519 base point, little-endian: S + L is the same signature in a non-canonical form.
const L = Buffer.from("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010", "hex");

function rawPublicKey(publicKey: KeyObject): Buffer {
  return Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
}

function addLittleEndian(a: Buffer, b: Buffer): Buffer {
  const sum = Buffer.alloc(32);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const v = (a[i] as number) + (b[i] as number) + carry;
    sum[i] = v & 0xff;
    carry = v >> 8;
  }
  return sum;
}

const sodiumInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve("sodium-native");
    return true;
  } catch {
    return false;
  }
})();

const keyPair = generateKeyPairSync("ed25519");
const publicKey = rawPublicKey(keyPair.publicKey);
const backends: Array<[string, Ed25519Check | undefined]> = [
  ["node:crypto", nodeEd25519Check(publicKey)],
  ["libsodium", sodiumEd25519Check(publicKey)],
];

describe("Ed25519 signature checks", () => {
  it("uses libsodium wherever sodium-native is installed (an accelerator that silently fell back would go unseen)", () => {
    if (!sodiumInstalled) {
      assert.equal(ed25519Backend(), "node:crypto");
      return;
    }
    assert.equal(ed25519Backend(), "libsodium");
  });

  it("refuses a public key that is not 32 bytes", () => {
    assert.throws(() => ed25519Check(Buffer.alloc(31)), /32 bytes/);
    assert.throws(() => nodeEd25519Check(Buffer.alloc(33)), /32 bytes/);
  });

  for (const [name, check] of backends) {
    describe(name, { skip: check === undefined ? "sodium-native not installed" : false }, () => {
      const holds = check as Ed25519Check;
      const message = Buffer.from("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1MSJ9");
      const signature = sign(null, message, keyPair.privateKey);

      it("accepts the signature of the message under the key", () => {
        assert.equal(holds(message, signature), true);
      });

      it("refuses every single-bit change of the signature", () => {
        for (let bit = 0; bit < 512; bit++) {
          const altered = Buffer.from(signature);
          altered[bit >> 3] = (altered[bit >> 3] as number) ^ (1 << (bit & 7));
          assert.equal(holds(message, altered), false, `bit ${bit}`);
        }
      });

      it("refuses a changed message, another key's signature, and signatures of the wrong length without throwing", () => {
        assert.equal(holds(Buffer.from("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1MiJ9"), signature), false);
        assert.equal(holds(message, sign(null, message, generateKeyPairSync("ed25519").privateKey)), false);
        assert.equal(holds(message, signature.subarray(0, 63)), false);
        assert.equal(holds(message, Buffer.concat([signature, Buffer.alloc(1)])), false);
        assert.equal(holds(message, Buffer.alloc(0)), false);
        assert.equal(holds(message, Buffer.alloc(64)), false);
      });

      it("refuses the non-canonical form of a valid signature (S + L, signature malleability)", () => {
        const malleated = Buffer.concat([signature.subarray(0, 32), addLittleEndian(signature.subarray(32), L)]);
        assert.equal(holds(message, malleated), false);
      });
    });
  }

  it("libsodium refuses the small-order key forgery that holds for every message (identity key, R = identity, S = 0)", { skip: !sodiumInstalled }, () => {
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    const forgery = Buffer.concat([identity, Buffer.alloc(32)]);
    const check = sodiumEd25519Check(identity) as Ed25519Check;
    assert.equal(check(Buffer.from("any message at all"), forgery), false);
  });

  it("both checks agree on 300 random messages, half of them with a corrupted signature", { skip: !sodiumInstalled }, () => {
    const sodium = sodiumEd25519Check(publicKey) as Ed25519Check;
    const node = nodeEd25519Check(publicKey);
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const message = randomBytes(1 + (i % 700));
      const signature = sign(null, message, keyPair.privateKey);
      if (i % 2 === 1) signature[i % 64] = (signature[i % 64] as number) ^ (1 + (i % 255));
      const verdict = node(message, signature);
      assert.equal(sodium(message, signature), verdict, `message ${i}`);
      if (verdict) accepted++;
    }
    assert.equal(accepted, 150);
  });
});
