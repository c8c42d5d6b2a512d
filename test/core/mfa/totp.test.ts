import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  base32Decode,
  base32Encode,
  createSecretBox,
  generateRecoveryCodes,
  hashRecoveryCode,
  hotp,
  otpauthUri,
  totp,
  verifyTotp,
} from "../../../src/core/mfa/index.ts";

const SEED = Buffer.from("12345678901234567890");

describe("TOTP (RFC 6238)", () => {
  // RFC 6238 Appendix B, SHA-1, last 6 of the 8 published digits.
  const vectors: Array<[number, string]> = [
    [59, "94287082"],
    [1111111109, "07081804"],
    [1111111111, "14050471"],
    [1234567890, "89005924"],
    [2000000000, "69279037"],
    [20000000000, "65353130"],
  ];
  for (const [seconds, eight] of vectors) {
    it(`matches the Appendix B vector at T=${seconds}`, () => {
      assert.equal(totp(SEED, seconds * 1000, 8), eight);
      assert.equal(totp(SEED, seconds * 1000), eight.slice(2));
    });
  }

  it("matches RFC 4226 Appendix D HOTP values", () => {
    assert.deepEqual([0, 1, 2, 9].map((c) => hotp(SEED, c)), ["755224", "287082", "359152", "520489"]);
  });

  it("accepts one step of drift either way, not two", () => {
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30_000);
    assert.equal(verifyTotp(SEED, totp(SEED, now), now), step);
    assert.equal(verifyTotp(SEED, totp(SEED, now - 30_000), now), step - 1);
    assert.equal(verifyTotp(SEED, totp(SEED, now + 30_000), now), step + 1);
    assert.equal(verifyTotp(SEED, totp(SEED, now - 60_000), now), undefined);
    assert.equal(verifyTotp(SEED, totp(SEED, now + 60_000), now), undefined);
  });

  it("never matches a step at or below the last accepted one", () => {
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30_000);
    assert.equal(verifyTotp(SEED, totp(SEED, now), now, step), undefined);
    assert.equal(verifyTotp(SEED, totp(SEED, now + 30_000), now, step), step + 1);
  });

  it("refuses anything that is not six digits", () => {
    for (const code of ["", "12345", "1234567", "abcdef", " 123456"]) assert.equal(verifyTotp(SEED, code, 0), undefined);
  });

  it("round-trips base32 and decodes the RFC 4648 vector", () => {
    assert.equal(base32Encode(Buffer.from("foobar")), "MZXW6YTBOI");
    assert.equal(base32Decode("MZXW6YTBOI======").toString(), "foobar");
    assert.deepEqual(base32Decode(base32Encode(SEED)), SEED);
    assert.throws(() => base32Decode("MZ1"), TypeError);
  });

  it("builds the otpauth URI", () => {
    assert.equal(
      otpauthUri({ issuer: "Rampart", account: "a+b@x.com", secret: "ABC" }),
      "otpauth://totp/Rampart:a%2Bb%40x.com?secret=ABC&issuer=Rampart&algorithm=SHA1&digits=6&period=30",
    );
  });
});

describe("recovery codes", () => {
  it("are ten distinct xxxx-xxxx-xxxx codes, hashed independently of case and dashes", () => {
    const codes = generateRecoveryCodes();
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
    const [first = ""] = codes;
    assert.equal(hashRecoveryCode(first.toUpperCase().replaceAll("-", " ")), hashRecoveryCode(first));
    assert.notEqual(hashRecoveryCode(first), first);
  });
});

describe("secret box", () => {
  const key = Buffer.alloc(32, 7);
  it("opens what it sealed, only with the same associated data and key", () => {
    const box = createSecretBox(key, "totp");
    const sealed = box.seal(SEED, "user-1");
    assert.ok(!sealed.includes(SEED.toString("base64url")));
    assert.deepEqual(box.open(sealed, "user-1"), SEED);
    assert.throws(() => box.open(sealed, "user-2"));
    assert.throws(() => createSecretBox(Buffer.alloc(32, 8), "totp").open(sealed, "user-1"));
    assert.throws(() => createSecretBox(key, "other").open(sealed, "user-1"));
    const tampered = `${sealed.slice(0, -2)}${sealed.endsWith("A") ? "B" : "A"}A`;
    assert.throws(() => box.open(tampered, "user-1"));
  });
});
