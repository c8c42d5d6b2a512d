import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { codePointLength, normalisePassword } from "../../../src/core/passwords/normalise.ts";
import { checkPassword, type PasswordPolicyOptions } from "../../../src/core/passwords/policy.ts";

const GOOD = "violet harbor tram 73";

function refusal(password: string, options?: PasswordPolicyOptions): string | undefined {
  try {
    checkPassword(password, options);
    return undefined;
  } catch (error) {
    const e = error as { code: string; status: number; detail: string; reason: string };
    assert.equal(e.code, "RAMPART_ERR_WEAK_PASSWORD");
    assert.equal(e.status, 400);
    assert.ok(e.detail.length > 0);
    return e.reason;
  }
}

describe("password policy: length", () => {
  it("at least 15 code points by default", () => {
    assert.equal(refusal("violet-harbor7"), "too short");
    assert.equal(refusal("violet-harbor-7"), undefined);
    assert.equal(refusal(GOOD), undefined);
  });

  it("counts code points, not UTF-16 units", () => {
    const fourteen = "🍇🍈🍉🍊🍋🍌🍍🥭🍎🍏🍐🍑🍒🍓";
    assert.equal(fourteen.length, 28);
    assert.equal(refusal(fourteen), "too short");
    assert.equal(refusal(`${fourteen}🥝`), undefined);
  });

  it("counts after NFKC: decomposed accents count once", () => {
    const decomposed = "cafe\u0301 ole\u0301 nin\u0303o"; // 16 UTF-16 units, 13 code points after NFKC
    assert.equal(refusal(decomposed), "too short");
  });

  it("at most 256 code points by default; configurable both ways", () => {
    const long = Array.from({ length: 257 }, (_, i) => String.fromCharCode(0x61 + ((i * 7) % 26))).join("");
    assert.equal(refusal(long), "too long");
    assert.equal(refusal(long.slice(0, 256)), undefined);
    assert.equal(refusal("x".repeat(10_000)), "too long");
    assert.equal(refusal("tram-violet-73", { minLength: 8 }), undefined);
    assert.equal(refusal(GOOD, { maxLength: 16 }), "too long");
  });

  it("no composition rules: lowercase letters and spaces alone are fine", () => {
    assert.equal(refusal("purple elephants dance slowly"), undefined);
  });

  it("refuses nonsense options", () => {
    assert.throws(() => checkPassword(GOOD, { minLength: 0 }), TypeError);
    assert.throws(() => checkPassword(GOOD, { minLength: 20, maxLength: 10 }), TypeError);
  });
});

describe("password policy: common and breached passwords", () => {
  it("refuses long entries of the list and their case variants", () => {
    for (const pw of ["1qaz2wsx3edc4rfv", "1QAZ2WSX3EDC4RFV", "qazwsxedcrfvtgb", "QazWsxEdcRfvTgb", "123456789987654321"]) {
      assert.equal(refusal(pw), "common password", pw);
    }
  });

  it("refuses short entries when the minimum is lowered, in any case", () => {
    for (const pw of ["password", "Password", "PASSWORD", "p@ssw0rd", "iloveyou", "TrustNo1"]) {
      assert.equal(refusal(pw, { minLength: 8 }), "common password", pw);
    }
  });

  it("refuses full-width forms of a listed password (NFKC)", () => {
    assert.equal(refusal("ｐａｓｓｗｏｒｄ", { minLength: 8 }), "common password");
  });

  it("refuses a listed entry or a trivial unit repeated", () => {
    for (const pw of ["passwordpassword", "PasswordPassword", "iloveyouiloveyouiloveyou", "aaaaaaaaaaaaaaaa", "abcdabcdabcdabcd", "1234123412341234"]) {
      assert.equal(refusal(pw), "common password", pw);
    }
    assert.equal(refusal("violet harbor violet harbor "), undefined, "a repeated uncommon phrase is allowed");
  });
});

describe("password policy: email", () => {
  const email = "Alice.Smith@Example.com";
  it("refuses the email, and passwords containing its local part", () => {
    assert.equal(refusal("alice.smith@example.com", { email: " Alice.Smith@Example.com " }), "contains email");
    assert.equal(refusal("my name is ALICE.SMITH ok", { email }), "contains email");
    assert.equal(refusal(GOOD, { email }), undefined);
  });

  it("a very short local part is refused only as the whole password", () => {
    assert.equal(refusal("always a fine password", { email: "al@example.com" }), undefined);
  });
});

describe("normalisePassword", () => {
  it("is NFKC and idempotent", () => {
    assert.equal(normalisePassword("ﬁ"), "fi");
    assert.equal(normalisePassword("e\u0301"), "\u00e9");
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => normalisePassword(normalisePassword(s)) === normalisePassword(s)));
  });

  it("codePointLength agrees with the string iterator", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => codePointLength(s) === [...s].length));
  });
});
