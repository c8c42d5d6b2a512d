import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createPasswordHasher, OWASP_ARGON2ID } from "../../../src/core/passwords/hasher.ts";

// Cheap parameters: the machine is shared and the tests check behaviour, not cost.
const CHEAP = { memoryCost: 64, timeCost: 1, parallelism: 1 };
const PW = "violet harbor tram 73";

const phc = (m: number, t: number, p: number, alg = "argon2id", v = 19) =>
  `$${alg}$v=${v}$m=${m},t=${t},p=${p}$${randomBytes(16).toString("base64").replace(/=+$/, "")}$${randomBytes(32).toString("base64").replace(/=+$/, "")}`;

describe("password hasher", () => {
  it("defaults are OWASP's argon2id parameters (m=19456 KiB, t=2, p=1)", () => {
    assert.deepEqual({ ...OWASP_ARGON2ID }, { memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    const hasher = createPasswordHasher();
    assert.equal(hasher.needsRehash(phc(19_456, 2, 1)), false);
    assert.equal(hasher.needsRehash(phc(64, 1, 1)), true);
  });

  it("hashes to an argon2id PHC string with the configured parameters, and verifies", async () => {
    const hasher = createPasswordHasher(CHEAP);
    const hash = await hasher.hash(PW);
    assert.match(hash, /^\$argon2id\$v=19\$m=64,t=1,p=1\$/);
    assert.notEqual(await hasher.hash(PW), hash, "salted");
    assert.equal(await hasher.verify(hash, PW), true);
    assert.equal(await hasher.verify(hash, `${PW}!`), false);
  });

  it("normalises (NFKC) before hashing: composed and decomposed forms are one password", async () => {
    const hasher = createPasswordHasher(CHEAP);
    const hash = await hasher.hash("caf\u00e9 ole\u0301 ni\u00f1o 2024");
    assert.equal(await hasher.verify(hash, "cafe\u0301 ol\u00e9 nin\u0303o 2024"), true);
  });

  it("a hash made at older parameters still verifies (and needs a rehash)", async () => {
    const old = await createPasswordHasher(CHEAP).hash(PW);
    const current = createPasswordHasher({ memoryCost: 128, timeCost: 1, parallelism: 1 });
    assert.equal(await current.verify(old, PW), true);
    assert.equal(current.needsRehash(old), true);
  });

  it("verify never throws on a malformed or foreign hash", async () => {
    const hasher = createPasswordHasher(CHEAP);
    for (const bad of ["", "garbage", "$argon2id$v=19$m=64,t=1,p=1$$", "$2b$10$abcdefghijklmnopqrstuv", undefined as unknown as string]) {
      assert.equal(await hasher.verify(bad, PW), false);
    }
  });

  it("needsRehash: other parameters, other variant, or unparseable", async () => {
    const hasher = createPasswordHasher(CHEAP);
    assert.equal(hasher.needsRehash(await hasher.hash(PW)), false);
    assert.equal(hasher.needsRehash(phc(128, 1, 1)), true);
    assert.equal(hasher.needsRehash(phc(64, 2, 1)), true);
    assert.equal(hasher.needsRehash(phc(64, 1, 2)), true);
    assert.equal(hasher.needsRehash(phc(64, 1, 1, "argon2i")), true);
    assert.equal(hasher.needsRehash("not a hash"), true);
  });

  it("verifyAgainstDummy is always false and computes its dummy once, at the same parameters", async () => {
    const hasher = createPasswordHasher(CHEAP);
    const hash = hasher.hash;
    const made: string[] = [];
    hasher.hash = async (pw) => {
      const h = await hash(pw);
      made.push(h);
      return h;
    };
    const results = await Promise.all([PW, "", PW].map((pw) => hasher.verifyAgainstDummy(pw)));
    assert.deepEqual(results, [false, false, false]);
    assert.equal(await hasher.verifyAgainstDummy(PW), false);
    assert.equal(made.length, 1);
    assert.match(made[0]!, /^\$argon2id\$v=19\$m=64,t=1,p=1\$/);
  });

  it("hashing runs off the event loop (async API on the libuv thread pool)", async () => {
    const hasher = createPasswordHasher({ memoryCost: 8192, timeCost: 2, parallelism: 1 });
    let done = false;
    const pending = hasher.hash(PW).then(() => {
      done = true;
    });
    await new Promise(setImmediate);
    assert.equal(done, false, "the event loop turned while the hash was being computed");
    await pending;
  });

  it("refuses bad parameters", () => {
    assert.throws(() => createPasswordHasher({ memoryCost: 4 }), /"memoryCost"/);
    assert.throws(() => createPasswordHasher({ timeCost: 0 }), /"timeCost"/);
    assert.throws(() => createPasswordHasher({ parallelism: 1.5 }), /"parallelism"/);
  });
});

describe("concurrency bound", () => {
  it("runs at most max tasks at once, starts the rest in order, and survives a failing task", async () => {
    const { createLimiter } = await import("../../../src/core/passwords/hasher.ts");
    const limit = createLimiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (i: number) => () =>
      new Promise<number>((resolve, reject) => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        setImmediate(() => {
          running--;
          if (i === 3) reject(new Error("boom"));
          else resolve(i);
        });
      });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => limit(task(i))));
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 7);
  });

  it("bounds the hasher by default to leave a core for the event loop", async () => {
    const hasher = createPasswordHasher({ memoryCost: 1024, timeCost: 1 });
    const hashes = await Promise.all(Array.from({ length: 3 }, (_, i) => hasher.hash(`password number ${i}`)));
    for (const [i, stored] of hashes.entries()) assert.equal(await hasher.verify(stored, `password number ${i}`), true);
  });
});
