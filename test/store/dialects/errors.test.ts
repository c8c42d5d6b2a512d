/** How engine errors map to the catalogue, for failures that are hard to provoke against a live server. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RampartError } from "../../../src/core/errors.ts";
import { mapStoreError } from "../../../src/store/dialects/errors.ts";
import { classifyPostgres } from "../../../src/store/dialects/postgres.ts";
import { classifySqlite } from "../../../src/store/dialects/sqlite.ts";

const coded = (code: string, message = "boom postgres://u:s3cret@db/x") => Object.assign(new Error(message), { code });

describe("classifyPostgres", () => {
  it("maps unique and foreign-key violations to conflict", () => {
    assert.equal(classifyPostgres(coded("23505")), "conflict");
    assert.equal(classifyPostgres(coded("23503")), "conflict");
  });

  it("maps connection, auth, resource and shutdown failures to unavailable", () => {
    for (const code of ["ECONNREFUSED", "ETIMEDOUT", "ENOTFOUND", "08006", "28P01", "53300", "57P01", "3D000"]) {
      assert.equal(classifyPostgres(coded(code)), "unavailable", code);
    }
    assert.equal(classifyPostgres(new Error("Connection terminated unexpectedly")), "unavailable");
    assert.equal(classifyPostgres(new Error("timeout exceeded when trying to connect")), "unavailable");
  });

  it("leaves programming errors alone", () => {
    assert.equal(classifyPostgres(coded("42601")), undefined);
    assert.equal(classifyPostgres(coded("23502")), undefined);
    assert.equal(classifyPostgres("not an error"), undefined);
  });
});

describe("classifySqlite", () => {
  it("maps constraint and availability failures", () => {
    assert.equal(classifySqlite(coded("SQLITE_CONSTRAINT_UNIQUE")), "conflict");
    assert.equal(classifySqlite(coded("SQLITE_CONSTRAINT_PRIMARYKEY")), "conflict");
    assert.equal(classifySqlite(coded("SQLITE_CONSTRAINT_FOREIGNKEY")), "conflict");
    assert.equal(classifySqlite(coded("SQLITE_BUSY")), "unavailable");
    assert.equal(classifySqlite(coded("SQLITE_IOERR_WRITE")), "unavailable");
    assert.equal(classifySqlite(coded("SQLITE_CONSTRAINT_NOTNULL")), undefined);
    assert.equal(classifySqlite(coded("SQLITE_ERROR")), undefined);
  });
});

describe("mapStoreError", () => {
  it("keeps the original as cause and only its code in the reason", () => {
    const original = coded("ECONNREFUSED");
    const mapped = mapStoreError(original, classifyPostgres);
    assert.ok(mapped instanceof RampartError);
    assert.equal(mapped.code, "RAMPART_ERR_STORE_UNAVAILABLE");
    assert.equal(mapped.status, 503);
    assert.equal(mapped.cause, original);
    for (const text of [mapped.message, mapped.detail, mapped.reason ?? ""]) assert.ok(!text.includes("s3cret"));
  });

  it("passes RampartErrors and unknown errors through", () => {
    const rampart = new RampartError("RAMPART_ERR_CONFLICT");
    assert.equal(mapStoreError(rampart, classifyPostgres), rampart);
    const syntax = coded("42601");
    assert.equal(mapStoreError(syntax, classifyPostgres), syntax);
  });
});
