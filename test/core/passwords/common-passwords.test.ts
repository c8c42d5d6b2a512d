import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { isCommonPassword, preloadCommonPasswords } from "../../../src/core/passwords/common-passwords.ts";

const file = new URL("../../../src/core/passwords/common-passwords.txt", import.meta.url);

describe("the shipped common-password list", () => {
  const text = readFileSync(file, "utf8");
  const lines = text.slice(0, -1).split("\n");

  it("one entry per line, NFKC and lowercase, deduplicated, 10k-100k entries", () => {
    assert.ok(text.endsWith("\n") && !text.endsWith("\n\n"));
    assert.ok(lines.length >= 10_000 && lines.length <= 100_000, `${lines.length} entries`);
    assert.equal(new Set(lines).size, lines.length);
    for (const line of lines) {
      assert.ok(line.length > 0 && line === line.normalize("NFKC").toLowerCase() && !line.includes("\r"), JSON.stringify(line));
    }
  });

  it("loads once into a Set and answers lookups", () => {
    assert.equal(preloadCommonPasswords(), lines.length);
    assert.equal(isCommonPassword("123456"), true);
    assert.equal(isCommonPassword("password"), true);
    assert.equal(isCommonPassword(""), false);
    assert.equal(isCommonPassword("violet harbor tram 73"), false);
  });
});
