/**
 * The initial schema. Written with Kysely's schema builder and only portable types (text, integer) so
 * it runs unchanged on SQLite and PostgreSQL. Never edit a released migration: add the next one.
 */
import type { Kysely, Migration } from "kysely";

// The tables as they are at this migration (a type alias: Kysely needs an index-compatible record).
type SeedTables = {
  roles: { name: string; permissions: string; builtin: number; created_at: string; updated_at: string };
};

const BUILTIN_ROLES = {
  admin: ["*"],
  user: ["notes:read", "notes:write", "tokens:manage", "profile:read"],
};

export const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("users")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("email", "text", (c) => c.notNull().unique())
      .addColumn("password_hash", "text", (c) => c.notNull())
      .addColumn("disabled", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("roles")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("permissions", "text", (c) => c.notNull())
      .addColumn("builtin", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("user_roles")
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("role_name", "text", (c) => c.notNull().references("roles.name").onDelete("cascade"))
      .addPrimaryKeyConstraint("user_roles_pk", ["user_id", "role_name"])
      .execute();
    await db.schema.createIndex("user_roles_role_name_idx").on("user_roles").column("role_name").execute();

    await db.schema
      .createTable("refresh_tokens")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("family_id", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("token_hash", "text", (c) => c.notNull().unique())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("expires_at", "text", (c) => c.notNull())
      .addColumn("spent_at", "text")
      .addColumn("revoked_at", "text")
      .execute();
    await db.schema.createIndex("refresh_tokens_family_id_idx").on("refresh_tokens").column("family_id").execute();
    await db.schema.createIndex("refresh_tokens_user_id_idx").on("refresh_tokens").column("user_id").execute();
    await db.schema.createIndex("refresh_tokens_expires_at_idx").on("refresh_tokens").column("expires_at").execute();

    await db.schema
      .createTable("api_tokens")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("prefix", "text", (c) => c.notNull())
      .addColumn("secret_hash", "text", (c) => c.notNull().unique())
      .addColumn("scopes", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("expires_at", "text")
      .addColumn("last_used_at", "text")
      .addColumn("revoked_at", "text")
      .execute();
    await db.schema.createIndex("api_tokens_user_id_idx").on("api_tokens").column("user_id").execute();

    await db.schema
      .createTable("signing_keys")
      .addColumn("kid", "text", (c) => c.primaryKey())
      .addColumn("alg", "text", (c) => c.notNull())
      .addColumn("private_jwk", "text", (c) => c.notNull())
      .addColumn("public_jwk", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("retired_at", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("revoked_tokens")
      .addColumn("jti", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text")
      .addColumn("expires_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("revoked_tokens_expires_at_idx").on("revoked_tokens").column("expires_at").execute();

    await db.schema
      .createTable("revoked_sessions")
      .addColumn("sid", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("expires_at", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("revoked_sessions_expires_at_idx")
      .on("revoked_sessions")
      .column("expires_at")
      .execute();

    await db.schema
      .createTable("audit_events")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("at", "text", (c) => c.notNull())
      .addColumn("actor_id", "text")
      .addColumn("subject", "text")
      .addColumn("ip", "text")
      .addColumn("request_id", "text")
      .addColumn("details", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("audit_events_type_idx").on("audit_events").column("type").execute();
    await db.schema.createIndex("audit_events_at_idx").on("audit_events").column("at").execute();

    await db.schema
      .createTable("notes")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("owner_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("title", "text", (c) => c.notNull())
      .addColumn("body", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("notes_owner_id_idx").on("notes").column("owner_id").execute();

    const now = new Date().toISOString();
    await db
      .withTables<SeedTables>()
      .insertInto("roles")
      .values(
        Object.entries(BUILTIN_ROLES).map(([name, permissions]) => ({
          name,
          permissions: JSON.stringify(permissions),
          builtin: 1,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
  },
};
