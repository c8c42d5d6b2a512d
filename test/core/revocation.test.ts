import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRevocationList, type RevocationEntry } from "../../src/core/revocation.ts";

const T0 = 1_900_000_000; // epoch seconds

function setup(options: { purgeInterval?: number } = {}) {
  let now = T0 * 1000;
  const clock = () => now;
  const list = createRevocationList({ clock, ...options });
  const at = (seconds: number) => {
    now = seconds * 1000;
  };
  return { list, at };
}

const token = (extra: Partial<{ jti: string; sid: string; sub: string; iat: number }> = {}) => ({ jti: "j1", sid: "s1", sub: "u1", iat: T0, ...extra });

describe("revocation list", () => {
  it("nothing is revoked by default", () => {
    const { list } = setup();
    assert.equal(list.isRevoked(token()), false);
  });

  it("a jti is revoked until its exp + tolerance, then dropped", () => {
    const { list, at } = setup();
    list.revokeJti("j1", T0 + 600);
    assert.equal(list.isRevoked(token()), true);
    assert.equal(list.isRevoked(token({ jti: "j2" })), false);
    at(T0 + 605);
    assert.equal(list.isRevoked(token()), true);
    at(T0 + 606);
    assert.equal(list.isRevoked(token()), false);
    assert.equal(list.purge(), 1);
    assert.equal(list.size, 0);
  });

  it("a sid revokes every token of that session for lifetime + tolerance", () => {
    const { list, at } = setup();
    list.revokeSid("s1");
    assert.equal(list.isRevoked(token({ jti: "a" })), true);
    assert.equal(list.isRevoked(token({ jti: "b", iat: T0 - 500 })), true);
    assert.equal(list.isRevoked(token({ sid: "s2" })), false);
    const { sid: _sid, ...noSid } = token();
    assert.equal(list.isRevoked(noSid), false);
    at(T0 + 605);
    assert.equal(list.isRevoked(token()), true);
    at(T0 + 606);
    assert.equal(list.isRevoked(token()), false);
  });

  it("a user cut-off revokes tokens issued before it, not after", () => {
    const { list, at } = setup();
    list.revokeUserBefore("u1", T0);
    assert.equal(list.isRevoked(token({ iat: T0 - 1 })), true);
    assert.equal(list.isRevoked(token({ iat: T0 })), false);
    assert.equal(list.isRevoked(token({ sub: "u2", iat: T0 - 1 })), false);
    at(T0 + 606);
    assert.equal(list.isRevoked(token({ iat: T0 - 1 })), false, "those tokens have expired anyway");
  });

  it("repeated revocations keep the later deadline and cut-off", () => {
    const { list, at } = setup();
    list.revokeUserBefore("u1", T0 + 10, T0 + 5000);
    list.revokeUserBefore("u1", T0, T0 + 100);
    assert.equal(list.isRevoked(token({ iat: T0 + 9 })), true);
    at(T0 + 4000);
    assert.equal(list.isRevoked(token({ iat: T0 + 9 })), true);
    list.revokeJti("j1", T0 + 5000);
    list.revokeJti("j1", T0 + 4001);
    at(T0 + 4500);
    assert.equal(list.isRevoked(token({ iat: T0 + 20 })), true);
  });

  it("expired entries are swept as new ones arrive: the list stays bounded", () => {
    const { list, at } = setup({ purgeInterval: 60 });
    for (let i = 0; i < 1000; i++) list.revokeJti(`old-${i}`, T0 + 10);
    assert.equal(list.size, 1000);
    at(T0 + 100);
    list.revokeJti("new", T0 + 700);
    assert.equal(list.size, 1);
  });

  it("onRevoke hears local revocations, not loads; unsubscribe works", () => {
    const { list } = setup();
    const heard: RevocationEntry[] = [];
    const off = list.onRevoke((e) => heard.push(e));
    list.revokeJti("j1", T0 + 600);
    list.revokeSid("s1");
    list.revokeUserBefore("u1", T0);
    list.load([{ kind: "jti", jti: "remote", until: T0 + 600 }]);
    assert.deepEqual(heard, [
      { kind: "jti", jti: "j1", until: T0 + 605 },
      { kind: "sid", sid: "s1", until: T0 + 605 },
      { kind: "user", sub: "u1", before: T0, until: T0 + 605 },
    ]);
    off();
    list.revokeJti("j2", T0 + 600);
    assert.equal(heard.length, 3);
  });

  it("a failing listener does not undo the revocation or silence the others", () => {
    const { list } = setup();
    const heard: string[] = [];
    list.onRevoke(() => {
      throw new Error("redis down");
    });
    list.onRevoke((e) => heard.push(e.kind));
    assert.throws(() => list.revokeJti("j1", T0 + 600), AggregateError);
    assert.deepEqual(heard, ["jti"]);
    assert.equal(list.isRevoked(token()), true);
  });

  it("load warms from storage and skips expired entries", () => {
    const { list } = setup();
    list.load([
      { kind: "jti", jti: "j1", until: T0 + 10 },
      { kind: "sid", sid: "gone", until: T0 - 1 },
      { kind: "user", sub: "u9", before: T0, until: T0 + 600 },
    ]);
    assert.equal(list.size, 2);
    assert.equal(list.isRevoked(token()), true);
    assert.equal(list.isRevoked(token({ jti: "x", sid: "gone" })), false);
    assert.equal(list.isRevoked(token({ jti: "x", sub: "u9", iat: T0 - 1 })), true);
  });

  it("refuses malformed entries and options", () => {
    const { list } = setup();
    assert.throws(() => list.revokeJti("", T0), TypeError);
    assert.throws(() => list.revokeJti("j", Number.NaN), TypeError);
    assert.throws(() => list.load([{ kind: "nope", until: T0 + 1 } as never]), TypeError);
    assert.throws(() => createRevocationList({ accessTokenLifetime: -1 }), /"accessTokenLifetime"/);
  });
});
