/**
 * OAuth 2.0 service clients (client credentials grant). Portable types only, like 001. The secret is
 * kept as its SHA-256 only; scopes are a JSON array of permissions. A deleted client's row is removed,
 * so every token it was issued is refused from then on, after a restart too (the authenticator finds
 * no client).
 */
import type { Kysely, Migration } from "kysely";

export const serviceClients: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("service_clients")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("secret_hash", "text", (c) => c.notNull().unique())
      .addColumn("scopes", "text", (c) => c.notNull())
      .addColumn("created_by", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("service_clients").execute();
  },
};
