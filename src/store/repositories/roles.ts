/** Roles and the permissions they grant. `admin` (everything) and `user` are seeded by the first migration. */
import type { Kysely, Selectable } from "kysely";
import { RampartError } from "../../core/errors.ts";
import type { Database, RolesTable } from "../schema.ts";
import { type RepositoryOptions, fromIso, parseStringList, systemClock, toIso, uniqueSorted } from "./shared.ts";

export const ADMIN_ROLE = "admin";

export interface Role {
  name: string;
  permissions: string[];
  builtin: boolean;
  /** `"required"`: holders cannot get an access token without a second factor. */
  mfa: RoleMfa;
  createdAt: Date;
  updatedAt: Date;
}

export type RoleMfa = "required" | null;

export interface RolesRepository {
  /** By name. */
  list(): Promise<Role[]>;
  get(name: string): Promise<Role | undefined>;
  /**
   * Creates the role or replaces its permissions (deduplicated, sorted) and, when `mfa` is given (null
   * clears it), its second-factor requirement. Built-in `user` may be changed;
   * @throws `RAMPART_ERR_CONFLICT` for `admin`, whose `*` is what keeps the system administrable.
   */
  upsert(name: string, permissions: readonly string[], mfa?: RoleMfa): Promise<Role>;
  /** Union of the permissions of the named roles; unknown names grant nothing. */
  permissionsOf(roleNames: readonly string[]): Promise<string[]>;
}

export function createRolesRepository(db: Kysely<Database>, options: RepositoryOptions = {}): RolesRepository {
  const clock = options.clock ?? systemClock;

  const get = async (name: string) => {
    const row = await db.selectFrom("roles").selectAll().where("name", "=", name).executeTakeFirst();
    return row && toRole(row);
  };

  return {
    async list() {
      const rows = await db.selectFrom("roles").selectAll().orderBy("name").execute();
      return rows.map(toRole);
    },

    get,

    async upsert(name, permissions, mfa) {
      if (name === ADMIN_ROLE) {
        throw new RampartError("RAMPART_ERR_CONFLICT", { detail: "The built-in admin role cannot be changed" });
      }
      const now = toIso(clock());
      await db
        .insertInto("roles")
        .values({
          name,
          permissions: JSON.stringify(uniqueSorted(permissions)),
          builtin: 0,
          created_at: now,
          updated_at: now,
          mfa: mfa ?? null,
        })
        .onConflict((oc) =>
          oc.column("name").doUpdateSet((eb) => ({
            permissions: eb.ref("excluded.permissions"),
            updated_at: eb.ref("excluded.updated_at"),
            // Left out: the requirement stays as it was (a permissions-only update never drops it).
            ...(mfa === undefined ? {} : { mfa: eb.ref("excluded.mfa") }),
          })),
        )
        .execute();
      const role = await get(name);
      if (!role) throw new Error(`role ${name} vanished after upsert`);
      return role;
    },

    async permissionsOf(roleNames) {
      if (roleNames.length === 0) return [];
      const rows = await db
        .selectFrom("roles")
        .select(["name", "permissions"])
        .where("name", "in", [...roleNames])
        .execute();
      return uniqueSorted(rows.flatMap((r) => parseStringList(r.permissions, `roles.permissions (${r.name})`)));
    },
  };
}

function toRole(row: Selectable<RolesTable>): Role {
  return {
    name: row.name,
    permissions: parseStringList(row.permissions, `roles.permissions (${row.name})`),
    builtin: row.builtin === 1,
    mfa: row.mfa === "required" ? "required" : null,
    createdAt: fromIso(row.created_at),
    updatedAt: fromIso(row.updated_at),
  };
}
