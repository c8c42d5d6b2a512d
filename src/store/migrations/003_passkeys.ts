/**
 * Passkeys (WebAuthn): the registered credentials, and the challenges issued for registration and login.
 * Portable types only (text, integer), like 001. Challenges are stored as SHA-256 hashes: a database
 * reader learns nothing it could answer with, and every instance on a shared database sees the same ones.
 */
import type { Kysely, Migration } from "kysely";

export const passkeys: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("webauthn_credentials")
      // The credential id as the authenticator reports it, base64url: the lookup key at login.
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
      .addColumn("name", "text", (c) => c.notNull())
      // COSE_Key bytes, base64url.
      .addColumn("public_key", "text", (c) => c.notNull())
      // bigint: the signature counter is a uint32, beyond PostgreSQL's integer.
      .addColumn("sign_count", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("transports", "text", (c) => c.notNull())
      .addColumn("backup_eligible", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("backed_up", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("last_used_at", "text")
      .execute();
    await db.schema.createIndex("webauthn_credentials_user_id_idx").on("webauthn_credentials").column("user_id").execute();

    await db.schema
      .createTable("webauthn_challenges")
      .addColumn("challenge_hash", "text", (c) => c.primaryKey())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.references("users.id").onDelete("cascade"))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("expires_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("webauthn_challenges_expires_at_idx").on("webauthn_challenges").column("expires_at").execute();
  },
};
