/**
 * Second factors (CONTRACT.md "Second factors and service clients"): TOTP factors (seed encrypted, see
 * src/identity/mfa.ts), recovery codes (hashed), pending MFA logins (`mfa_token`, hashed), the
 * installation secret the TOTP encryption key is derived from, and the per-role MFA requirement.
 * Portable types only, like 001.
 */
import type { Kysely, Migration } from "kysely";

export const secondFactors: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("totp_factors")
      .addColumn("user_id", "text", (c) => c.primaryKey().references("users.id").onDelete("cascade"))
      .addColumn("secret_sealed", "text", (c) => c.notNull())
      .addColumn("confirmed_at", "text")
      .addColumn("last_step", "integer")
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("recovery_codes")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("code_hash", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("used_at", "text")
      .execute();
    await db.schema.createIndex("recovery_codes_user_id_idx").on("recovery_codes").columns(["user_id", "code_hash"]).execute();

    await db.schema
      .createTable("mfa_challenges")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("token_hash", "text", (c) => c.notNull().unique())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("client_ip", "text", (c) => c.notNull())
      .addColumn("cookie_session", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("expires_at", "text", (c) => c.notNull())
      .addColumn("consumed_at", "text")
      .execute();
    await db.schema.createIndex("mfa_challenges_user_id_idx").on("mfa_challenges").column("user_id").execute();

    await db.schema
      .createTable("installation_secrets")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();

    await db.schema.alterTable("roles").addColumn("mfa", "text").execute();
  },
};
