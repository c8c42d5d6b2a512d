/**
 * The repository contract: one suite that every storage engine runs (test/store/sqlite.test.ts,
 * test/store/postgres.test.ts). Each test gets a fresh, migrated database and a fake clock.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Kysely } from "kysely";
import { type ErrorCode, RampartError } from "../../src/core/errors.ts";
import { type Database, type Repositories, createRepositories, migrateToLatest } from "../../src/store/index.ts";

export interface ContractDatabase {
  db: Kysely<Database>;
  /** Closes the connection and removes whatever `open` created. */
  close(): Promise<void>;
}

const START = Date.parse("2030-01-01T00:00:00.000Z");
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const HOSTILE = "'; DROP TABLE users; --";

const isCode = (code: ErrorCode) => (error: unknown) => error instanceof RampartError && error.code === code;

export function runRepositoryContract(
  engineName: string,
  open: () => Promise<ContractDatabase>,
  options: { skip?: string | false } = {},
): void {
  describe(`repository contract: ${engineName}`, { skip: options.skip ?? false }, () => {
    let database: ContractDatabase;
    let repos: Repositories;
    let now: number;
    let applied: string[];
    const at = (offset = 0) => new Date(now + offset);
    const advance = (ms: number) => {
      now += ms;
    };

    beforeEach(async () => {
      now = START;
      database = await open();
      applied = await migrateToLatest(database.db);
      repos = createRepositories(database.db, { clock: () => new Date(now) });
    });

    afterEach(async () => {
      await database.close();
    });

    const newUser = (email = `${randomUUID()}@example.com`, roles: string[] = ["user"]) =>
      repos.users.create({ email, passwordHash: "argon2id$hash", roles });

    describe("migrations", () => {
      it("applies 001_initial once, then nothing", async () => {
        assert.equal(applied[0], "001_initial");
        assert.ok(applied.includes("003_passkeys"), String(applied));
        assert.ok(applied.includes("002_second_factors"), String(applied));
        assert.ok(applied.includes("004_service_clients"), String(applied));
        assert.deepEqual(applied, [...applied].sort(), "applied in name order");
        assert.deepEqual(await migrateToLatest(database.db), []);
        assert.deepEqual(await migrateToLatest(database.db), []);
      });

      it("seeds the built-in roles", async () => {
        const admin = await repos.roles.get("admin");
        const user = await repos.roles.get("user");
        assert.deepEqual(admin?.permissions, ["*"]);
        assert.equal(admin?.builtin, true);
        assert.deepEqual([...(user?.permissions ?? [])].sort(), ["notes:read", "notes:write", "profile:read", "tokens:manage"]);
        assert.equal(user?.builtin, true);
      });
    });

    describe("users", () => {
      it("creates a user with normalised email and roles", async () => {
        const user = await repos.users.create({ email: "  Alice@Example.COM ", passwordHash: "h1", roles: ["user"] });
        assert.equal(user.email, "alice@example.com");
        assert.equal(user.passwordHash, "h1");
        assert.equal(user.disabled, false);
        assert.deepEqual(user.roles, ["user"]);
        assert.equal(user.createdAt.getTime(), START);
        assert.deepEqual(await repos.users.findById(user.id), user);
        assert.deepEqual(await repos.users.findByEmail("ALICE@example.com  "), user);
        assert.equal(await repos.users.findByEmail("bob@example.com"), undefined);
        assert.equal(await repos.users.findById(randomUUID()), undefined);
      });

      it("refuses a duplicate email case-insensitively with CONFLICT", async () => {
        await repos.users.create({ email: "A@x.com ", passwordHash: "h", roles: ["user"] });
        await assert.rejects(
          repos.users.create({ email: "a@x.com", passwordHash: "h", roles: [] }),
          isCode("RAMPART_ERR_CONFLICT"),
        );
        assert.equal((await repos.users.list()).length, 1);
      });

      it("lets exactly one of two concurrent registrations of one email win", async () => {
        const results = await Promise.allSettled([newUser("race@x.com"), newUser("RACE@x.com")]);
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        const rejected = results.find((r) => r.status === "rejected");
        assert.ok(rejected && isCode("RAMPART_ERR_CONFLICT")(rejected.reason));
      });

      it("refuses unknown roles and creates nothing", async () => {
        await assert.rejects(newUser("x@x.com", ["user", "wizard"]), isCode("RAMPART_ERR_BAD_REQUEST"));
        assert.equal(await repos.users.findByEmail("x@x.com"), undefined);
      });

      it("lists oldest first, paged and clamped", async () => {
        const created = [];
        for (let i = 0; i < 3; i++) {
          created.push(await newUser(`u${i}@x.com`));
          advance(1000);
        }
        assert.deepEqual(
          (await repos.users.list()).map((u) => u.email),
          ["u0@x.com", "u1@x.com", "u2@x.com"],
        );
        const page = await repos.users.list({ limit: 1, offset: 1 });
        assert.deepEqual(page, [created[1]]);
        assert.equal((await repos.users.list({ limit: 0 })).length, 1);
        assert.equal((await repos.users.list({ limit: 2, offset: -5 })).length, 2);
      });

      it("updates password hash, disabled flag and roles", async () => {
        const user = await newUser();
        advance(MINUTE);
        assert.equal(await repos.users.setPasswordHash(user.id, "h2"), true);
        assert.equal(await repos.users.setDisabled(user.id, true), true);
        assert.equal(await repos.users.setRoles(user.id, ["admin", "user", "admin"]), true);
        const updated = await repos.users.findById(user.id);
        assert.equal(updated?.passwordHash, "h2");
        assert.equal(updated?.disabled, true);
        assert.deepEqual(updated?.roles, ["admin", "user"]);
        assert.equal(updated?.updatedAt.getTime(), START + MINUTE);
        assert.equal(updated?.createdAt.getTime(), START);
        assert.deepEqual(await repos.users.rolesOf(user.id), ["admin", "user"]);
        assert.equal(await repos.users.setRoles(user.id, []), true);
        assert.deepEqual(await repos.users.rolesOf(user.id), []);
        await assert.rejects(repos.users.setRoles(user.id, ["wizard"]), isCode("RAMPART_ERR_BAD_REQUEST"));
        assert.equal(await repos.users.setDisabled(user.id, false), true);
        assert.equal((await repos.users.findById(user.id))?.disabled, false);
      });

      it("reports unknown ids as false", async () => {
        const id = randomUUID();
        assert.equal(await repos.users.setPasswordHash(id, "h"), false);
        assert.equal(await repos.users.setDisabled(id, true), false);
        assert.equal(await repos.users.setRoles(id, ["user"]), false);
        assert.equal(await repos.users.delete(id), false);
        assert.deepEqual(await repos.users.rolesOf(id), []);
      });

      it("counts enabled admins only", async () => {
        assert.equal(await repos.users.countAdmins(), 0);
        const a = await newUser(undefined, ["admin"]);
        await newUser(undefined, ["admin", "user"]);
        await newUser();
        assert.equal(await repos.users.countAdmins(), 2);
        await repos.users.setDisabled(a.id, true);
        assert.equal(await repos.users.countAdmins(), 1);
      });

      it("changes access atomically and never removes the last enabled admin", async () => {
        const a = await newUser(undefined, ["admin"]);
        const b = await newUser(undefined, ["admin"]);
        assert.equal(await repos.users.updateAccess(randomUUID(), { disabled: true }), "not-found");
        assert.equal(await repos.users.updateAccess(a.id, { roles: ["user"] }), "updated");
        assert.deepEqual(await repos.users.rolesOf(a.id), ["user"]);
        assert.equal(await repos.users.updateAccess(b.id, { roles: ["user"] }), "last-admin");
        assert.equal(await repos.users.updateAccess(b.id, { disabled: true }), "last-admin");
        assert.deepEqual(await repos.users.rolesOf(b.id), ["admin"]);
        assert.equal((await repos.users.findById(b.id))?.disabled, false);
        // An unknown role rolls the whole change back.
        await assert.rejects(repos.users.updateAccess(a.id, { roles: ["wizard"], disabled: true }), isCode("RAMPART_ERR_BAD_REQUEST"));
        assert.deepEqual(await repos.users.rolesOf(a.id), ["user"]);
        assert.equal((await repos.users.findById(a.id))?.disabled, false);
        // Two concurrent demotions of the last two admins: exactly one wins.
        assert.equal(await repos.users.updateAccess(a.id, { roles: ["admin"] }), "updated");
        const outcomes = await Promise.all([
          repos.users.updateAccess(a.id, { roles: ["user"] }),
          repos.users.updateAccess(b.id, { disabled: true }),
        ]);
        assert.deepEqual([...outcomes].sort(), ["last-admin", "updated"]);
        assert.equal(await repos.users.countAdmins(), 1);
      });

      it("deletes a user with everything they own", async () => {
        const user = await newUser();
        const other = await newUser();
        await repos.refreshTokens.insert({ familyId: "f", userId: user.id, tokenHash: "rt", expiresAt: at(HOUR) });
        await repos.apiTokens.insert({ userId: user.id, name: "ci", prefix: "rmp_ab", secretHash: "s", scopes: [] });
        const note = await repos.notes.create({ ownerId: user.id, title: "t", body: "b" });
        const kept = await repos.notes.create({ ownerId: other.id, title: "t", body: "b" });
        assert.equal(await repos.users.delete(user.id), true);
        assert.equal(await repos.users.findById(user.id), undefined);
        assert.deepEqual(await repos.users.rolesOf(user.id), []);
        assert.equal(await repos.refreshTokens.findByHash("rt"), undefined);
        assert.equal(await repos.apiTokens.findBySecretHash("s"), undefined);
        assert.equal(await repos.notes.get(note.id), undefined);
        assert.deepEqual(await repos.notes.get(kept.id), kept);
      });

      it("joins the caller's transaction and rolls back with it", async () => {
        await assert.rejects(
          database.db.transaction().execute(async (trx) => {
            await createRepositories(trx).users.create({ email: "tx@x.com", passwordHash: "h", roles: ["user"] });
            throw new Error("abort");
          }),
          /abort/,
        );
        assert.equal(await repos.users.findByEmail("tx@x.com"), undefined);
      });
    });

    describe("roles", () => {
      it("lists by name and gets one", async () => {
        assert.deepEqual(
          (await repos.roles.list()).map((r) => r.name),
          ["admin", "user"],
        );
        assert.equal(await repos.roles.get("wizard"), undefined);
      });

      it("creates and replaces a role's permissions", async () => {
        const created = await repos.roles.upsert("auditor", ["audit:read", "users:read", "audit:read"]);
        assert.deepEqual(created.permissions, ["audit:read", "users:read"]);
        assert.equal(created.builtin, false);
        advance(MINUTE);
        const replaced = await repos.roles.upsert("auditor", ["audit:read"]);
        assert.deepEqual(replaced.permissions, ["audit:read"]);
        assert.equal(replaced.createdAt.getTime(), START);
        assert.equal(replaced.updatedAt.getTime(), START + MINUTE);
        const user = await repos.roles.upsert("user", ["notes:read"]);
        assert.equal(user.builtin, true);
        assert.deepEqual(user.permissions, ["notes:read"]);
      });

      it("refuses to change admin", async () => {
        await assert.rejects(repos.roles.upsert("admin", ["notes:read"]), isCode("RAMPART_ERR_CONFLICT"));
        assert.deepEqual((await repos.roles.get("admin"))?.permissions, ["*"]);
      });

      it("unions permissions of several roles, ignoring unknown ones", async () => {
        await repos.roles.upsert("auditor", ["audit:read", "notes:read"]);
        assert.deepEqual(await repos.roles.permissionsOf(["user", "auditor", "wizard"]), [
          "audit:read",
          "notes:read",
          "notes:write",
          "profile:read",
          "tokens:manage",
        ]);
        assert.deepEqual(await repos.roles.permissionsOf([]), []);
      });

      it("lets a role be assigned once created", async () => {
        await repos.roles.upsert("auditor", ["audit:read"]);
        const user = await newUser(undefined, ["auditor"]);
        assert.deepEqual(user.roles, ["auditor"]);
      });
    });

    describe("refresh tokens", () => {
      let userId: string;
      beforeEach(async () => {
        userId = (await newUser()).id;
      });
      const insert = (familyId: string, tokenHash: string, ttl = HOUR) =>
        repos.refreshTokens.insert({ familyId, userId, tokenHash, expiresAt: at(ttl) });

      it("stores and finds by hash", async () => {
        const token = await repos.refreshTokens.insert({
          id: "rt-1",
          familyId: "fam",
          userId,
          tokenHash: "hash-1",
          expiresAt: at(HOUR),
        });
        assert.deepEqual(token, {
          id: "rt-1",
          familyId: "fam",
          userId,
          tokenHash: "hash-1",
          createdAt: at(),
          expiresAt: at(HOUR),
          spentAt: null,
          revokedAt: null,
        });
        assert.deepEqual(await repos.refreshTokens.findByHash("hash-1"), token);
        assert.equal(await repos.refreshTokens.findByHash("nope"), undefined);
        await assert.rejects(insert("fam", "hash-1"), isCode("RAMPART_ERR_CONFLICT"));
      });

      it("spends a token once", async () => {
        const token = await insert("fam", "h");
        assert.equal(await repos.refreshTokens.markSpent(token.id), true);
        assert.equal(await repos.refreshTokens.markSpent(token.id), false);
        assert.deepEqual((await repos.refreshTokens.findByHash("h"))?.spentAt, at());
      });

      it("rotates in one step: spends and inserts the successor, or neither", async () => {
        const token = await insert("fam-r", "hr");
        const next = { familyId: "fam-r", userId: token.userId, tokenHash: "hr-2", expiresAt: at(HOUR) };
        assert.equal(await repos.refreshTokens.rotate(token.id, next), true);
        assert.ok((await repos.refreshTokens.findByHash("hr"))?.spentAt);
        assert.ok(await repos.refreshTokens.findByHash("hr-2"));
        assert.equal(await repos.refreshTokens.rotate(token.id, { ...next, tokenHash: "hr-3" }), false);
        assert.equal(await repos.refreshTokens.findByHash("hr-3"), undefined);
        // A failing insert (hash taken) leaves the presented token unspent.
        const other = await insert("fam-s", "hs");
        await assert.rejects(repos.refreshTokens.rotate(other.id, { ...next, tokenHash: "hr-2" }), isCode("RAMPART_ERR_CONFLICT"));
        assert.equal((await repos.refreshTokens.findByHash("hs"))?.spentAt, null);
      });

      it("lets exactly one of two concurrent spends win", async () => {
        for (let round = 0; round < 5; round++) {
          const token = await insert(`fam-${round}`, `h-${round}`);
          const results = await Promise.all([
            repos.refreshTokens.markSpent(token.id),
            repos.refreshTokens.markSpent(token.id),
          ]);
          assert.deepEqual([...results].sort(), [false, true]);
        }
      });

      it("never spends an expired or revoked token", async () => {
        const expiring = await insert("f1", "h1", MINUTE);
        const revoked = await insert("f2", "h2");
        await repos.refreshTokens.revokeFamily("f2");
        advance(MINUTE);
        assert.equal(await repos.refreshTokens.markSpent(expiring.id), false);
        assert.equal(await repos.refreshTokens.markSpent(revoked.id), false);
      });

      it("revokes a whole family", async () => {
        const spent = await insert("fam", "old");
        await repos.refreshTokens.markSpent(spent.id);
        await insert("fam", "new");
        await insert("other", "o");
        assert.equal(await repos.refreshTokens.revokeFamily("fam"), 2);
        assert.equal(await repos.refreshTokens.revokeFamily("fam"), 0);
        assert.deepEqual((await repos.refreshTokens.findByHash("new"))?.revokedAt, at());
        assert.equal((await repos.refreshTokens.findByHash("o"))?.revokedAt, null);
        assert.deepEqual(await repos.refreshTokens.liveFamiliesOf(userId), ["other"]);
      });

      it("revokes all of a user's families but the one kept", async () => {
        await insert("a", "a1");
        await insert("b", "b1");
        await insert("c", "c1");
        const stranger = await newUser();
        await repos.refreshTokens.insert({ familyId: "s", userId: stranger.id, tokenHash: "s1", expiresAt: at(HOUR) });
        assert.deepEqual(await repos.refreshTokens.revokeAllForUser(userId, { exceptFamilyId: "b" }), ["a", "c"]);
        assert.deepEqual(await repos.refreshTokens.liveFamiliesOf(userId), ["b"]);
        assert.deepEqual(await repos.refreshTokens.revokeAllForUser(userId), ["b"]);
        assert.deepEqual(await repos.refreshTokens.liveFamiliesOf(userId), []);
        assert.deepEqual(await repos.refreshTokens.liveFamiliesOf(stranger.id), ["s"]);
      });

      it("lists live families: unspent, unrevoked, unexpired", async () => {
        const spent = await insert("spent", "x1");
        await repos.refreshTokens.markSpent(spent.id);
        await insert("short", "x2", MINUTE);
        await insert("live", "x3");
        assert.deepEqual(await repos.refreshTokens.liveFamiliesOf(userId), ["live", "short"]);
        advance(MINUTE);
        assert.deepEqual(await repos.refreshTokens.liveFamiliesOf(userId), ["live"]);
      });

      it("purges expired tokens", async () => {
        await insert("f", "short", MINUTE);
        await insert("f", "long", HOUR);
        assert.equal(await repos.refreshTokens.purgeExpired(at(2 * MINUTE)), 1);
        assert.equal(await repos.refreshTokens.findByHash("short"), undefined);
        assert.ok(await repos.refreshTokens.findByHash("long"));
      });
    });

    describe("API tokens", () => {
      let userId: string;
      beforeEach(async () => {
        userId = (await newUser()).id;
      });
      const insert = (name: string, secretHash: string, owner = userId) =>
        repos.apiTokens.insert({ userId: owner, name, prefix: "rmp_1234", secretHash, scopes: ["notes:read"] });

      it("stores a token and finds it by its hash, without returning the hash", async () => {
        const token = await repos.apiTokens.insert({
          id: "tok-1",
          userId,
          name: "deploy",
          prefix: "rmp_abcd",
          secretHash: "SECRET-HASH",
          scopes: ["notes:write", "notes:read"],
          expiresAt: at(HOUR),
        });
        assert.deepEqual(token, {
          id: "tok-1",
          userId,
          name: "deploy",
          prefix: "rmp_abcd",
          scopes: ["notes:read", "notes:write"],
          createdAt: at(),
          expiresAt: at(HOUR),
          lastUsedAt: null,
          revokedAt: null,
        });
        const found = await repos.apiTokens.findBySecretHash("SECRET-HASH");
        assert.deepEqual(found, token);
        assert.ok(!JSON.stringify(found).includes("SECRET-HASH"));
        assert.equal(await repos.apiTokens.findBySecretHash("other"), undefined);
        await assert.rejects(insert("dup", "SECRET-HASH"), isCode("RAMPART_ERR_CONFLICT"));
      });

      it("lists a user's unrevoked tokens, newest first, never with the hash", async () => {
        const first = await insert("one", "HASH-ONE");
        advance(1000);
        const second = await insert("two", "HASH-TWO");
        await insert("theirs", "HASH-THEIRS", (await newUser()).id);
        const listed = await repos.apiTokens.listForUser(userId);
        assert.deepEqual(
          listed.map((t) => t.id),
          [second.id, first.id],
        );
        assert.equal(listed[0]?.expiresAt, null);
        const text = JSON.stringify(listed);
        assert.ok(!text.includes("HASH-") && !text.includes("secret"));
        await repos.apiTokens.revoke(first.id, userId);
        assert.deepEqual(
          (await repos.apiTokens.listForUser(userId)).map((t) => t.id),
          [second.id],
        );
      });

      it("lets only the owner revoke a token, once", async () => {
        const token = await insert("one", "h1");
        const stranger = await newUser();
        assert.equal(await repos.apiTokens.revoke(token.id, stranger.id), false);
        assert.equal((await repos.apiTokens.findBySecretHash("h1"))?.revokedAt, null);
        assert.equal(await repos.apiTokens.revoke(token.id, userId), true);
        assert.equal(await repos.apiTokens.revoke(token.id, userId), false);
        assert.deepEqual((await repos.apiTokens.findBySecretHash("h1"))?.revokedAt, at());
      });

      it("revokes all of a user's tokens", async () => {
        await insert("one", "h1");
        await insert("two", "h2");
        const theirs = await insert("theirs", "h3", (await newUser()).id);
        assert.equal(await repos.apiTokens.revokeAllForUser(userId), 2);
        assert.deepEqual(await repos.apiTokens.listForUser(userId), []);
        assert.equal((await repos.apiTokens.findBySecretHash("h3"))?.revokedAt, null);
        assert.deepEqual((await repos.apiTokens.listForUser(theirs.userId)).length, 1);
      });

      it("records the last use", async () => {
        const token = await insert("one", "h1");
        await repos.apiTokens.touchLastUsed(token.id, at(5 * MINUTE));
        assert.deepEqual((await repos.apiTokens.findBySecretHash("h1"))?.lastUsedAt, at(5 * MINUTE));
      });
    });

    describe("signing keys", () => {
      const jwk = (d: string) => ({ kty: "OKP", crv: "Ed25519", x: "pub", d });

      it("stores keys with their JWKs, lists newest first and retires", async () => {
        const first = await repos.signingKeys.insert({
          kid: "k1",
          alg: "EdDSA",
          privateJwk: jwk("one"),
          publicJwk: { kty: "OKP", crv: "Ed25519", x: "pub" },
        });
        assert.equal(first.status, "active");
        assert.equal(first.retiredAt, null);
        advance(1000);
        const second = await repos.signingKeys.insert({
          kid: "k2",
          alg: "EdDSA",
          privateJwk: jwk("two"),
          publicJwk: { kty: "OKP" },
          status: "pending",
        });
        assert.deepEqual(await repos.signingKeys.list(), [second, first]);
        assert.equal(await repos.signingKeys.retire("k1", at(HOUR)), true);
        assert.equal(await repos.signingKeys.retire("k1", at(2 * HOUR)), false);
        assert.equal(await repos.signingKeys.retire("missing", at()), false);
        const retired = (await repos.signingKeys.list()).find((k) => k.kid === "k1");
        assert.equal(retired?.status, "retired");
        assert.deepEqual(retired?.retiredAt, at(HOUR));
        assert.deepEqual(retired?.privateJwk, jwk("one"));
        await assert.rejects(
          repos.signingKeys.insert({ kid: "k1", alg: "EdDSA", privateJwk: {}, publicJwk: {} }),
          isCode("RAMPART_ERR_CONFLICT"),
        );
      });
    });

    describe("revocations", () => {
      it("persists revoked jtis and sessions until they expire", async () => {
        await repos.revocations.revokeJti("jti-1", "u1", at(MINUTE));
        await repos.revocations.revokeJti("jti-2", null, at(HOUR));
        await repos.revocations.revokeSession("sid-1", "u1", at(HOUR));
        assert.deepEqual(await repos.revocations.activeSince(at()), {
          jtis: [
            { jti: "jti-1", userId: "u1", expiresAt: at(MINUTE) },
            { jti: "jti-2", userId: null, expiresAt: at(HOUR) },
          ],
          sessions: [{ sid: "sid-1", userId: "u1", expiresAt: at(HOUR) }],
        });
        const later = await repos.revocations.activeSince(at(MINUTE));
        assert.deepEqual(
          later.jtis.map((j) => j.jti),
          ["jti-2"],
        );
      });

      it("is idempotent and keeps the later expiry", async () => {
        await repos.revocations.revokeJti("j", "u", at(HOUR));
        await repos.revocations.revokeJti("j", "u", at(MINUTE));
        await repos.revocations.revokeSession("s", "u", at(MINUTE));
        await repos.revocations.revokeSession("s", "u", at(HOUR));
        const { jtis, sessions } = await repos.revocations.activeSince(at());
        assert.deepEqual(
          jtis.map((j) => j.expiresAt),
          [at(HOUR)],
        );
        assert.deepEqual(
          sessions.map((s) => s.expiresAt),
          [at(HOUR)],
        );
      });

      it("purges what has expired", async () => {
        await repos.revocations.revokeJti("old", "u", at(MINUTE));
        await repos.revocations.revokeJti("new", "u", at(HOUR));
        await repos.revocations.revokeSession("old-s", "u", at(MINUTE));
        assert.equal(await repos.revocations.purgeExpired(at(MINUTE)), 2);
        const { jtis, sessions } = await repos.revocations.activeSince(at());
        assert.deepEqual(
          jtis.map((j) => j.jti),
          ["new"],
        );
        assert.deepEqual(sessions, []);
      });
    });

    describe("audit", () => {
      it("records an event with defaults", async () => {
        const event = await repos.audit.record({ type: "auth.login.failed" });
        assert.deepEqual(event, {
          id: event.id,
          type: "auth.login.failed",
          at: at(),
          actorId: null,
          subject: null,
          ip: null,
          requestId: null,
          details: {},
        });
        assert.deepEqual(await repos.audit.query(), [event]);
      });

      it("filters by type and time, newest first", async () => {
        const e1 = await repos.audit.record({
          type: "login",
          actorId: "u1",
          subject: "user:u1",
          ip: "192.0.2.1",
          requestId: "req-1",
          details: { method: "password", nested: { ok: true } },
        });
        advance(MINUTE);
        const e2 = await repos.audit.record({ type: "logout", actorId: "u1" });
        advance(MINUTE);
        const e3 = await repos.audit.record({ type: "login", actorId: "u2" });
        assert.deepEqual(await repos.audit.query({}), [e3, e2, e1]);
        assert.deepEqual(await repos.audit.query({ type: "login" }), [e3, e1]);
        assert.deepEqual(await repos.audit.query({ since: at(-MINUTE) }), [e3, e2]);
        assert.deepEqual(await repos.audit.query({ type: "login", since: at(-MINUTE) }), [e3]);
        assert.deepEqual(await repos.audit.query({ type: "nothing" }), []);
      });

      it("clamps the limit to 1..500", async () => {
        const base = now;
        await Promise.all(
          Array.from({ length: 502 }, (_, i) => repos.audit.record({ type: "bulk", at: new Date(base + i) })),
        );
        assert.equal((await repos.audit.query({ limit: 0 })).length, 1);
        assert.equal((await repos.audit.query({ limit: -3 })).length, 1);
        assert.equal((await repos.audit.query({ limit: 10_000 })).length, 500);
        assert.equal((await repos.audit.query({ limit: 3 })).length, 3);
        assert.equal((await repos.audit.query()).length, 100);
        assert.deepEqual((await repos.audit.query({ limit: 1 }))[0]?.at, new Date(base + 501));
      });
    });

    describe("notes", () => {
      it("creates, reads, updates and deletes", async () => {
        const owner = await newUser();
        const note = await repos.notes.create({ ownerId: owner.id, title: "Hello", body: "World" });
        assert.deepEqual(note, {
          id: note.id,
          ownerId: owner.id,
          title: "Hello",
          body: "World",
          createdAt: at(),
          updatedAt: at(),
        });
        assert.deepEqual(await repos.notes.get(note.id), note);
        advance(MINUTE);
        const titled = await repos.notes.update(note.id, { title: "Hi" });
        assert.deepEqual(titled, { ...note, title: "Hi", updatedAt: at() });
        assert.deepEqual(await repos.notes.update(note.id, {}), titled);
        const bodied = await repos.notes.update(note.id, { body: "" });
        assert.equal(bodied?.body, "");
        assert.equal(bodied?.title, "Hi");
        assert.equal(await repos.notes.update(randomUUID(), { title: "x" }), undefined);
        assert.equal(await repos.notes.delete(note.id), true);
        assert.equal(await repos.notes.delete(note.id), false);
        assert.equal(await repos.notes.get(note.id), undefined);
      });

      it("lists only the owner's notes, newest first and paged; listAll sees all", async () => {
        const alice = await newUser();
        const bob = await newUser();
        const mine = [];
        for (let i = 0; i < 3; i++) {
          mine.push(await repos.notes.create({ ownerId: alice.id, title: `a${i}`, body: "" }));
          advance(1000);
        }
        const theirs = await repos.notes.create({ ownerId: bob.id, title: "b", body: "" });
        assert.deepEqual(
          (await repos.notes.listForOwner(alice.id)).map((n) => n.title),
          ["a2", "a1", "a0"],
        );
        assert.deepEqual(await repos.notes.listForOwner(bob.id), [theirs]);
        assert.deepEqual(await repos.notes.listForOwner(alice.id, { limit: 1, offset: 1 }), [mine[1]]);
        assert.deepEqual(await repos.notes.listForOwner(randomUUID()), []);
        assert.equal((await repos.notes.listAll()).length, 4);
        assert.deepEqual(await repos.notes.listAll({ limit: 1 }), [theirs]);
      });

      it("refuses a note for an unknown owner", async () => {
        await assert.rejects(
          repos.notes.create({ ownerId: randomUUID(), title: "t", body: "b" }),
          isCode("RAMPART_ERR_CONFLICT"),
        );
      });
    });

    describe("passkeys", () => {
      const newPasskey = (userId: string, id: string = randomUUID(), signCount = 0) =>
        repos.passkeys.insert({ id, userId, name: "laptop", publicKey: "pQECAyYgASFYIA", signCount, transports: ["internal", "hybrid"], backupEligible: true, backedUp: false });

      it("stores, finds, lists and counts a user's passkeys", async () => {
        const user = await newUser();
        const other = await newUser();
        const first = await newPasskey(user.id, "cred-1");
        advance(MINUTE);
        await newPasskey(user.id, "cred-2");
        await newPasskey(other.id, "cred-3");
        assert.deepEqual(await repos.passkeys.findById("cred-1"), first);
        assert.equal(first.createdAt.getTime(), START);
        assert.deepEqual(first.transports, ["internal", "hybrid"]);
        assert.equal(first.backupEligible, true);
        assert.equal(first.backedUp, false);
        assert.equal(first.lastUsedAt, null);
        assert.deepEqual((await repos.passkeys.listForUser(user.id)).map((p) => p.id), ["cred-1", "cred-2"]);
        assert.equal(await repos.passkeys.countForUser(user.id), 2);
        assert.equal(await repos.passkeys.countForUser(randomUUID()), 0);
        assert.equal(await repos.passkeys.findById("nope"), undefined);
      });

      it("refuses a credential id registered twice", async () => {
        const user = await newUser();
        await newPasskey(user.id, "dup");
        await assert.rejects(newPasskey((await newUser()).id, "dup"), isCode("RAMPART_ERR_CONFLICT"));
      });

      it("moves the counter only from the value read (compare-and-set), beyond 2^31", async () => {
        const user = await newUser();
        await newPasskey(user.id, "ctr", 7);
        assert.equal(await repos.passkeys.updateAfterLogin("ctr", 6, { signCount: 9, backedUp: true }), false);
        assert.equal(await repos.passkeys.updateAfterLogin("ctr", 7, { signCount: 4_000_000_000, backedUp: true }), true);
        assert.equal(await repos.passkeys.updateAfterLogin("ctr", 7, { signCount: 4_000_000_001, backedUp: true }), false);
        const stored = await repos.passkeys.findById("ctr");
        assert.equal(stored?.signCount, 4_000_000_000);
        assert.equal(stored?.backedUp, true);
        assert.equal(stored?.lastUsedAt?.getTime(), START);
      });

      it("deletes only the owner's passkey, and with the user", async () => {
        const user = await newUser();
        await newPasskey(user.id, "mine");
        assert.equal(await repos.passkeys.delete("mine", randomUUID()), false);
        assert.equal(await repos.passkeys.delete("mine", user.id), true);
        await newPasskey(user.id, "again");
        assert.equal(await repos.users.delete(user.id), true);
        assert.equal(await repos.passkeys.findById("again"), undefined);
      });
    });

    describe("WebAuthn challenges", () => {
      it("consumes a challenge once, for its kind and user only, before it expires", async () => {
        const user = await newUser();
        const other = await newUser();
        await repos.webauthnChallenges.insert({ challengeHash: "h-reg", kind: "register", userId: user.id, expiresAt: at(3 * MINUTE) });
        await repos.webauthnChallenges.insert({ challengeHash: "h-login", kind: "login", userId: null, expiresAt: at(3 * MINUTE) });
        assert.equal(await repos.webauthnChallenges.consume("h-reg", "login", null), false);
        assert.equal(await repos.webauthnChallenges.consume("h-reg", "register", other.id), false);
        assert.equal(await repos.webauthnChallenges.consume("h-login", "register", user.id), false);
        assert.equal(await repos.webauthnChallenges.consume("h-reg", "register", user.id), true);
        assert.equal(await repos.webauthnChallenges.consume("h-reg", "register", user.id), false);
        const both = await Promise.all([
          repos.webauthnChallenges.consume("h-login", "login", null),
          repos.webauthnChallenges.consume("h-login", "login", null),
        ]);
        assert.deepEqual(both.sort(), [false, true]);
      });

      it("refuses and purges expired challenges", async () => {
        await repos.webauthnChallenges.insert({ challengeHash: "old", kind: "login", userId: null, expiresAt: at(MINUTE) });
        await repos.webauthnChallenges.insert({ challengeHash: "new", kind: "login", userId: null, expiresAt: at(5 * MINUTE) });
        advance(2 * MINUTE);
        assert.equal(await repos.webauthnChallenges.consume("old", "login", null), false);
        assert.equal(await repos.webauthnChallenges.purgeExpired(at()), 1);
        assert.equal(await repos.webauthnChallenges.consume("new", "login", null), true);
      });
    });

    describe("second factors", () => {
      it("keeps a TOTP factor pending until confirmed, then accepts each step once", async () => {
        const user = await newUser();
        assert.equal(await repos.secondFactors.getTotp(user.id), undefined);
        await repos.secondFactors.startTotp(user.id, "v1.sealed-a");
        assert.deepEqual(await repos.secondFactors.getTotp(user.id), {
          userId: user.id,
          secretSealed: "v1.sealed-a",
          confirmedAt: null,
          lastStep: null,
          createdAt: at(),
        });
        assert.equal(await repos.secondFactors.acceptStep(user.id, 5), false, "pending factors accept nothing");
        await repos.secondFactors.startTotp(user.id, "v1.sealed-b");
        advance(MINUTE);
        assert.equal(await repos.secondFactors.confirmTotp(user.id, 100, ["h1", "h2"]), true);
        const confirmed = await repos.secondFactors.getTotp(user.id);
        assert.equal(confirmed?.secretSealed, "v1.sealed-b");
        assert.equal(confirmed?.confirmedAt?.getTime(), START + MINUTE);
        assert.equal(confirmed?.lastStep, 100);
        assert.equal(await repos.secondFactors.acceptStep(user.id, 100), false, "same step");
        assert.equal(await repos.secondFactors.acceptStep(user.id, 99), false, "older step");
        const race = await Promise.all([repos.secondFactors.acceptStep(user.id, 101), repos.secondFactors.acceptStep(user.id, 101)]);
        assert.deepEqual(race.sort(), [false, true]);
        assert.equal(await repos.secondFactors.remainingRecoveryCodes(user.id), 2);
      });

      it("spends recovery codes once, replaces them all, and removes everything with the factor", async () => {
        const user = await newUser();
        const other = await newUser();
        await repos.secondFactors.startTotp(user.id, "v1.s");
        await repos.secondFactors.confirmTotp(user.id, 1, ["h1", "h2", "h3"]);
        assert.equal(await repos.secondFactors.useRecoveryCode(other.id, "h1"), false, "another user's code");
        const race = await Promise.all([repos.secondFactors.useRecoveryCode(user.id, "h1"), repos.secondFactors.useRecoveryCode(user.id, "h1")]);
        assert.deepEqual(race.sort(), [false, true]);
        assert.equal(await repos.secondFactors.remainingRecoveryCodes(user.id), 2);
        await repos.secondFactors.replaceRecoveryCodes(user.id, ["n1", "n2"]);
        assert.equal(await repos.secondFactors.useRecoveryCode(user.id, "h2"), false, "old codes are gone");
        assert.equal(await repos.secondFactors.useRecoveryCode(user.id, HOSTILE), false);
        assert.equal(await repos.secondFactors.remainingRecoveryCodes(user.id), 2);
        assert.equal(await repos.secondFactors.removeTotp(user.id), true);
        assert.equal(await repos.secondFactors.getTotp(user.id), undefined);
        assert.equal(await repos.secondFactors.remainingRecoveryCodes(user.id), 0);
        assert.equal(await repos.secondFactors.removeTotp(user.id), false);
      });

      it("consumes an mfa challenge once, never after expiry, and deletes a user's pending ones", async () => {
        const user = await newUser();
        const challenge = await repos.mfaChallenges.insert({ tokenHash: "th-1", userId: user.id, clientIp: "10.0.0.1", cookieSession: true, expiresAt: at(5 * MINUTE) });
        assert.deepEqual(await repos.mfaChallenges.findByHash("th-1"), challenge);
        assert.equal(challenge.cookieSession, true);
        assert.equal(await repos.mfaChallenges.findByHash(HOSTILE), undefined);
        const race = await Promise.all([repos.mfaChallenges.consume(challenge.id), repos.mfaChallenges.consume(challenge.id)]);
        assert.deepEqual(race.sort(), [false, true]);
        assert.equal((await repos.mfaChallenges.findByHash("th-1"))?.consumedAt?.getTime(), START);

        const late = await repos.mfaChallenges.insert({ tokenHash: "th-2", userId: user.id, clientIp: "10.0.0.1", cookieSession: false, expiresAt: at(5 * MINUTE) });
        advance(5 * MINUTE);
        assert.equal(await repos.mfaChallenges.consume(late.id), false, "expired");
        await repos.mfaChallenges.insert({ tokenHash: "th-3", userId: user.id, clientIp: "10.0.0.1", cookieSession: false, expiresAt: at(5 * MINUTE) });
        assert.equal(await repos.mfaChallenges.deleteForUser(user.id), 3);
        assert.equal(await repos.mfaChallenges.findByHash("th-3"), undefined);
        assert.equal(await repos.mfaChallenges.purgeExpired(at()), 0);
      });

      it("keeps the first installation secret, whoever asks", async () => {
        const results = await Promise.all([
          repos.installationSecrets.getOrCreate("k", () => "first"),
          repos.installationSecrets.getOrCreate("k", () => "second"),
        ]);
        assert.equal(results[0], results[1]);
        assert.equal(await repos.installationSecrets.getOrCreate("k", () => "third"), results[0]);
      });

      it("stores a role's MFA requirement and keeps it across permissions-only updates", async () => {
        assert.equal((await repos.roles.get("user"))?.mfa, null);
        assert.equal((await repos.roles.upsert("finance", ["notes:read"], "required")).mfa, "required");
        assert.equal((await repos.roles.upsert("finance", ["notes:write"])).mfa, "required");
        assert.equal((await repos.roles.upsert("finance", ["notes:write"], null)).mfa, null);
      });
    });

    describe("service clients", () => {
      const newClient = (id = `rmpc_${randomUUID().replaceAll("-", "").slice(0, 22)}`, scopes = ["notes:read", "notes:write", "notes:read"]) =>
        repos.serviceClients.insert({ id, name: "svc", secretHash: `hash-${id}`, scopes, createdBy: null });

      it("stores a client with sorted unique scopes and never lists its secret hash", async () => {
        const first = await newClient("rmpc_a");
        advance(MINUTE);
        await newClient("rmpc_b", ["*"]);
        assert.deepEqual(first.scopes, ["notes:read", "notes:write"]);
        assert.equal(first.createdAt.getTime(), START);
        assert.equal(first.createdBy, null);
        assert.deepEqual(await repos.serviceClients.findById("rmpc_a"), first);
        assert.deepEqual((await repos.serviceClients.list()).map((c) => c.id), ["rmpc_a", "rmpc_b"]);
        for (const client of await repos.serviceClients.list()) assert.ok(!("secretHash" in client));
        assert.deepEqual(await repos.serviceClients.findCredentials("rmpc_a"), { client: first, secretHash: "hash-rmpc_a" });
        assert.equal(await repos.serviceClients.findCredentials("rmpc_none"), undefined);
      });

      it("deletes a client once", async () => {
        await newClient("rmpc_gone");
        assert.equal(await repos.serviceClients.delete("rmpc_gone"), true);
        assert.equal(await repos.serviceClients.delete("rmpc_gone"), false);
        assert.equal(await repos.serviceClients.findById("rmpc_gone"), undefined);
        assert.equal(await repos.serviceClients.findById(HOSTILE), undefined);
      });
    });

    describe("hostile input", () => {
      it("round-trips SQL metacharacters as plain data", async () => {
        const email = `${HOSTILE}@x.com`;
        const user = await repos.users.create({ email, passwordHash: HOSTILE, roles: ["user"] });
        assert.equal((await repos.users.findByEmail(email))?.passwordHash, HOSTILE);
        const role = await repos.roles.upsert(HOSTILE, [HOSTILE, "x' OR '1'='1"]);
        assert.deepEqual((await repos.roles.get(HOSTILE))?.permissions, role.permissions);
        await repos.users.setRoles(user.id, [HOSTILE]);
        assert.deepEqual(await repos.users.rolesOf(user.id), [HOSTILE]);
        const note = await repos.notes.create({ ownerId: user.id, title: HOSTILE, body: `${HOSTILE}\\0"\n` });
        assert.deepEqual(await repos.notes.get(note.id), note);
        await repos.audit.record({ type: HOSTILE, details: { q: HOSTILE } });
        assert.deepEqual((await repos.audit.query({ type: HOSTILE }))[0]?.details, { q: HOSTILE });
        assert.equal(await repos.notes.get(HOSTILE), undefined);
        assert.equal(await repos.users.findById("' OR 1=1 --"), undefined);
        assert.equal((await repos.users.list()).length, 1);
      });
    });
  });
}
