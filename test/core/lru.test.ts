import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Lru } from "../../src/core/lru.ts";

describe("Lru", () => {
  it("evicts the least recently used key past maxKeys", () => {
    const lru = new Lru<number>(2);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.get("a");
    lru.set("c", 3);
    assert.equal(lru.get("b"), undefined);
    assert.equal(lru.get("a"), 1);
    assert.equal(lru.get("c"), 3);
    assert.equal(lru.size, 2);
  });

  it("overwrites without growing, deletes and clears", () => {
    const lru = new Lru<number>(2);
    lru.set("a", 1);
    lru.set("a", 2);
    assert.equal(lru.size, 1);
    assert.equal(lru.get("a"), 2);
    lru.delete("a");
    assert.equal(lru.get("a"), undefined);
    lru.set("b", 1);
    lru.clear();
    assert.equal(lru.size, 0);
  });

  it("never exceeds maxKeys", () => {
    const lru = new Lru<number>(100);
    for (let i = 0; i < 10_000; i++) lru.set(String(i), i);
    assert.equal(lru.size, 100);
    assert.equal(lru.get("9999"), 9999);
    assert.equal(lru.get("9899"), undefined);
  });

  it("refuses a bound below 1", () => {
    assert.throws(() => new Lru(0), TypeError);
    assert.throws(() => new Lru(1.5), TypeError);
  });

  it("peek reads without changing recency", () => {
    const lru = new Lru<number>(2);
    lru.set("a", 1);
    lru.set("b", 2);
    assert.equal(lru.peek("a"), 1);
    lru.set("c", 3);
    assert.equal(lru.peek("a"), undefined, "a stayed the least recent");
  });

  // The flood an attacker sends by spraying distinct emails or addresses. (Why a linked list and not a
  // bare Map re-inserted on use: see src/core/lru.ts; that version took 11 s for 300k inserts here.)
  it("keeps exactly the newest keys under a flood of distinct keys", () => {
    const lru = new Lru<number>(1000);
    for (let i = 0; i < 200_000; i++) lru.set(`k${i}`, i);
    assert.equal(lru.size, 1000);
    assert.equal(lru.oldest()?.key, "k199000");
  });
});
