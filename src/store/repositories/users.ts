/** Users and their role assignments. Emails are stored normalised, so uniqueness is case-insensitive. */
import { randomUUID } from "node:crypto";
import { type Kysely, PostgresIntrospector, type Selectable, sql } from "kysely";
import { RampartError } from "../../core/errors.ts";
import type { Database, UsersTable } from "../schema.ts";
import {
  type Page,
  type RepositoryOptions,
  clampLimit,
  clampOffset,
  fromIso,
  inTransaction,
  systemClock,
  toIso,
  uniqueSorted,
} from "./shared.ts";

export interface User {
  id: string;
  email: string;
  passwordHash: string;
  disabled: boolean;
  roles: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface NewUser {
  email: string;
  passwordHash: string;
  roles: readonly string[];
}

export interface AccessChange {
  roles?: readonly string[] | undefined;
  disabled?: boolean | undefined;
}

export interface UsersRepository {
  /** @throws `RAMPART_ERR_CONFLICT` for a taken email, `RAMPART_ERR_BAD_REQUEST` for an unknown role. */
  create(user: NewUser): Promise<User>;
  findByEmail(email: string): Promise<User | undefined>;
  findById(id: string): Promise<User | undefined>;
  /** Oldest first; `limit` defaults to 50, clamped to 1..500. `emailContains`: a case-insensitive substring. */
  list(page?: Page & { emailContains?: string }): Promise<User[]>;
  /** Each returns false when no such user exists. */
  setPasswordHash(id: string, passwordHash: string): Promise<boolean>;
  setDisabled(id: string, disabled: boolean): Promise<boolean>;
  /** Replaces the user's roles. @throws `RAMPART_ERR_BAD_REQUEST` for an unknown role. */
  setRoles(id: string, roles: readonly string[]): Promise<boolean>;
  rolesOf(id: string): Promise<string[]>;
  /** Enabled users holding `admin`: the ones that count when refusing to remove the last admin. */
  countAdmins(): Promise<number>;
  /**
   * Changes roles and/or the disabled flag in one transaction, refusing (`"last-admin"`, nothing
   * written) when it would leave no enabled admin. Atomic under concurrency: on PostgreSQL the
   * admins' rows are locked (`FOR UPDATE`) before counting; SQLite serialises writers anyway.
   */
  updateAccess(id: string, change: AccessChange): Promise<"updated" | "not-found" | "last-admin">;
  /** Deletes the user; roles, refresh and API tokens and notes go with it (ON DELETE CASCADE). */
  delete(id: string): Promise<boolean>;
}

/** Trim, lowercase, Unicode NFC: the one form emails are stored and compared in. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase().normalize("NFC");
}

export function createUsersRepository(db: Kysely<Database>, options: RepositoryOptions = {}): UsersRepository {
  const clock = options.clock ?? systemClock;

  const findOne = async (column: "id" | "email", value: string) => {
    const row = await db.selectFrom("users").selectAll().where(column, "=", value).executeTakeFirst();
    return row && toUser(row, await rolesOf(db, row.id));
  };

  const touch = async (id: string, set: Partial<Selectable<UsersTable>>) => {
    const result = await db
      .updateTable("users")
      .set({ ...set, updated_at: toIso(clock()) })
      .where("id", "=", id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  };

  return {
    async create({ email, passwordHash, roles }) {
      const now = toIso(clock());
      const row = {
        id: randomUUID(),
        email: normaliseEmail(email),
        password_hash: passwordHash,
        disabled: 0,
        created_at: now,
        updated_at: now,
      };
      const names = uniqueSorted(roles);
      try {
        await inTransaction(db, async (trx) => {
          await assertRolesExist(trx, names);
          await trx.insertInto("users").values(row).execute();
          await insertRoles(trx, row.id, names);
        });
      } catch (error) {
        if (error instanceof RampartError && error.code === "RAMPART_ERR_CONFLICT") {
          throw new RampartError("RAMPART_ERR_CONFLICT", {
            detail: "A user with this email already exists",
            reason: "users.email is unique",
            cause: error,
          });
        }
        throw error;
      }
      return toUser(row, names);
    },

    findByEmail: (email) => findOne("email", normaliseEmail(email)),
    findById: (id) => findOne("id", id),

    async list(page = {}) {
      let query = db.selectFrom("users").selectAll();
      if (page.emailContains) {
        // Stored emails are normalised (lowercase); LIKE's own wildcards in the search are escaped.
        const pattern = `%${normaliseEmail(page.emailContains).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        query = query.where(sql<boolean>`${sql.ref("email")} like ${pattern} escape '\\'`);
      }
      const rows = await query
        .orderBy("created_at")
        .orderBy("id")
        .limit(clampLimit(page.limit, 50))
        .offset(clampOffset(page.offset))
        .execute();
      const roles = await rolesByUser(
        db,
        rows.map((r) => r.id),
      );
      return rows.map((row) => toUser(row, roles.get(row.id) ?? []));
    },

    setPasswordHash: (id, passwordHash) => touch(id, { password_hash: passwordHash }),
    setDisabled: (id, disabled) => touch(id, { disabled: disabled ? 1 : 0 }),

    setRoles(id, roles) {
      const names = uniqueSorted(roles);
      return inTransaction(db, async (trx) => {
        const exists = await trx.selectFrom("users").select("id").where("id", "=", id).executeTakeFirst();
        if (!exists) return false;
        await assertRolesExist(trx, names);
        await trx.deleteFrom("user_roles").where("user_id", "=", id).execute();
        await insertRoles(trx, id, names);
        await trx.updateTable("users").set({ updated_at: toIso(clock()) }).where("id", "=", id).execute();
        return true;
      });
    },

    rolesOf: (id) => rolesOf(db, id),

    countAdmins: () => countAdmins(db),

    updateAccess(id, change) {
      return inTransaction(db, async (trx) => {
        if (trx.introspection instanceof PostgresIntrospector) {
          // Lock the target and every admin, in id order (no deadlock between two such transactions).
          // A concurrent demotion waits here, then counts what the first one committed.
          await trx
            .selectFrom("users")
            .select("id")
            .where((eb) =>
              eb.or([
                eb("id", "=", id),
                eb("id", "in", eb.selectFrom("user_roles").select("user_id").where("role_name", "=", ADMIN)),
              ]),
            )
            .orderBy("id")
            .forUpdate()
            .execute();
        }
        const row = await trx.selectFrom("users").select(["id", "disabled"]).where("id", "=", id).executeTakeFirst();
        if (!row) return "not-found";
        const roles = await rolesOf(trx, id);
        const isAdmin = roles.includes(ADMIN) && row.disabled === 0;
        const losesAdmin = isAdmin && (change.disabled === true || (change.roles !== undefined && !change.roles.includes(ADMIN)));
        if (losesAdmin && (await countAdmins(trx)) <= 1) return "last-admin";
        const now = toIso(clock());
        if (change.roles !== undefined) {
          const names = uniqueSorted(change.roles);
          await assertRolesExist(trx, names);
          await trx.deleteFrom("user_roles").where("user_id", "=", id).execute();
          await insertRoles(trx, id, names);
        }
        const set: Partial<Selectable<UsersTable>> = { updated_at: now };
        if (change.disabled !== undefined) set.disabled = change.disabled ? 1 : 0;
        await trx.updateTable("users").set(set).where("id", "=", id).execute();
        return "updated";
      });
    },

    async delete(id) {
      const result = await db.deleteFrom("users").where("id", "=", id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}

function toUser(row: Selectable<UsersTable>, roles: string[]): User {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    disabled: row.disabled === 1,
    roles,
    createdAt: fromIso(row.created_at),
    updatedAt: fromIso(row.updated_at),
  };
}

const ADMIN = "admin";

async function countAdmins(db: Kysely<Database>): Promise<number> {
  const { count } = await db
    .selectFrom("user_roles")
    .innerJoin("users", "users.id", "user_roles.user_id")
    .where("user_roles.role_name", "=", ADMIN)
    .where("users.disabled", "=", 0)
    .select((eb) => eb.fn.countAll<number | string | bigint>().as("count"))
    .executeTakeFirstOrThrow();
  return Number(count);
}

async function rolesOf(db: Kysely<Database>, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("user_roles")
    .select("role_name")
    .where("user_id", "=", userId)
    .orderBy("role_name")
    .execute();
  return rows.map((r) => r.role_name);
}

async function rolesByUser(db: Kysely<Database>, userIds: string[]): Promise<Map<string, string[]>> {
  const byUser = new Map<string, string[]>();
  if (userIds.length === 0) return byUser;
  const rows = await db
    .selectFrom("user_roles")
    .select(["user_id", "role_name"])
    .where("user_id", "in", userIds)
    .orderBy("role_name")
    .execute();
  for (const { user_id, role_name } of rows) {
    byUser.set(user_id, [...(byUser.get(user_id) ?? []), role_name]);
  }
  return byUser;
}

async function assertRolesExist(db: Kysely<Database>, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const found = await db.selectFrom("roles").select("name").where("name", "in", names).execute();
  const known = new Set(found.map((r) => r.name));
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new RampartError("RAMPART_ERR_BAD_REQUEST", {
      detail: `Unknown role: ${unknown.join(", ")}`,
      extensions: { unknownRoles: unknown },
    });
  }
}

async function insertRoles(db: Kysely<Database>, userId: string, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await db
    .insertInto("user_roles")
    .values(names.map((role_name) => ({ user_id: userId, role_name })))
    .execute();
}
