/** The duplicate-member scanner behind the JWS prechecks (RFC 7515 §4, RFC 8725 §3.2). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { findDuplicateMember, parseStrictJson } from "../../../src/core/tokens/strict-json.ts";

describe("strict JSON member scanner", () => {
  it("finds a repeated name at the top level, nested, inside arrays, and spelled with escapes", () => {
    assert.equal(findDuplicateMember('{"sub":"a","sub":"b"}'), "sub");
    assert.equal(findDuplicateMember('{"a":{"x":1,"y":{"z":1,"z":2}}}'), "z");
    assert.equal(findDuplicateMember('{"a":[1,{"b":1},{"c":1,"c":2}]}'), "c");
    assert.equal(findDuplicateMember('{"sub":"a","s\\u0075b":"b"}'), "sub");
    assert.equal(findDuplicateMember('{"__proto__":1,"__proto__":2}'), "__proto__");
  });

  it("does not confuse values, strings holding JSON punctuation, or sibling objects with names", () => {
    assert.equal(findDuplicateMember('{"a":"a","b":"a"}'), undefined);
    assert.equal(findDuplicateMember('{"a":"\\",\\"a\\":{","b":["a","a"]}'), undefined);
    assert.equal(findDuplicateMember('[{"a":1},{"a":1}]'), undefined);
    assert.equal(findDuplicateMember('{"a":{"x":1},"b":{"x":1},"x":{}}'), undefined);
    assert.equal(findDuplicateMember('{"a":{},"b":[],"c":[{}],"d":1}'), undefined);
    assert.equal(findDuplicateMember(' { "a" : 1 , "b" : [ 1 , 2 ] } '), undefined);
  });

  it("parseStrictJson returns the value, names the duplicate, and throws on malformed text", () => {
    assert.deepEqual(parseStrictJson('{"a":1}'), { ok: true, value: { a: 1 } });
    assert.deepEqual(parseStrictJson('{"a":1,"a":2}'), { ok: false, duplicate: "a" });
    assert.throws(() => parseStrictJson('{"a":'), SyntaxError);
  });

  it("parseStrictJson refuses every case the scanner catches, and accepts every case it clears (member counting)", () => {
    const duplicated = [
      '{"sub":"a","sub":"b"}',
      '{"a":{"x":1,"y":{"z":1,"z":2}}}',
      '{"a":[1,{"b":1},{"c":1,"c":2}]}',
      '{"sub":"a","s\\u0075b":"b"}',
      '{"__proto__":1,"__proto__":2}',
      '{"a":"x:y","a":"z"}',
      '{"k\\"":1,"k\\u0022":2}',
    ];
    for (const text of duplicated) assert.equal(parseStrictJson(text).ok, false, text);
    const clean = [
      '{"a":"a","b":"a"}',
      '{"a":"\\",\\"a\\":{","b":["a","a"]}',
      '[{"a":1},{"a":1}]',
      '{"a":{"x":1},"b":{"x":1},"x":{}}',
      '{"a":"::::","b:":":c","\\"d:":1}',
      '{"__proto__":{"x":1},"constructor":{"prototype":{}}}',
      '"just:a:string"',
      "[]",
    ];
    for (const text of clean) assert.equal(parseStrictJson(text).ok, true, text);
  });
});
