/**
 * Installation-wide secrets, generated once on first start and never rotated with the signing keys
 * (rotating them would make everything sealed under them unreadable). First writer wins: every
 * instance starting at once ends up with the same value.
 */
import type { Kysely } from "kysely";
import type { Database } from "../schema.ts";
import { type RepositoryOptions, systemClock, toIso } from "./shared.ts";

export interface InstallationSecretsRepository {
  /** The stored value, or `generate()`'s when there was none (racing instances all get the winner's). */
  getOrCreate(name: string, generate: () => string): Promise<string>;
}

export function createInstallationSecretsRepository(db: Kysely<Database>, options: RepositoryOptions = {}): InstallationSecretsRepository {
  const clock = options.clock ?? systemClock;
  const read = async (name: string) =>
    (await db.selectFrom("installation_secrets").select("value").where("name", "=", name).executeTakeFirst())?.value;
  return {
    async getOrCreate(name, generate) {
      const existing = await read(name);
      if (existing !== undefined) return existing;
      await db
        .insertInto("installation_secrets")
        .values({ name, value: generate(), created_at: toIso(clock()) })
        .onConflict((oc) => oc.column("name").doNothing())
        .execute();
      const value = await read(name);
      if (value === undefined) throw new Error(`installation secret ${name} vanished after insert`);
      return value;
    },
  };
}
