/**
 * Passkeys: WebAuthn credentials registered by users. The signature counter is only ever moved by a
 * compare-and-set (`updateAfterLogin`), so two logins racing with the same credential cannot both
 * advance it from the same value.
 */
import type { Kysely, Selectable } from "kysely";
import type { Database, WebauthnCredentialsTable } from "../schema.ts";
import { type RepositoryOptions, fromIso, fromIsoOrNull, parseStringList, systemClock, toIso } from "./shared.ts";

export interface Passkey {
  /** Credential id, base64url. */
  id: string;
  userId: string;
  name: string;
  /** COSE_Key, base64url. */
  publicKey: string;
  signCount: number;
  transports: string[];
  backupEligible: boolean;
  backedUp: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface NewPasskey {
  id: string;
  userId: string;
  name: string;
  publicKey: string;
  signCount: number;
  transports: readonly string[];
  backupEligible: boolean;
  backedUp: boolean;
}

export interface PasskeysRepository {
  /** @throws RampartError RAMPART_ERR_CONFLICT when the credential id is already registered. */
  insert(passkey: NewPasskey): Promise<Passkey>;
  findById(id: string): Promise<Passkey | undefined>;
  listForUser(userId: string): Promise<Passkey[]>;
  countForUser(userId: string): Promise<number>;
  /**
   * Records a login: the new counter and backup state, only if the stored counter is still
   * `expectedSignCount`. `false` when another login moved it first.
   */
  updateAfterLogin(id: string, expectedSignCount: number, update: { signCount: number; backedUp: boolean }): Promise<boolean>;
  delete(id: string, userId: string): Promise<boolean>;
}

export function createPasskeysRepository(db: Kysely<Database>, options: RepositoryOptions = {}): PasskeysRepository {
  const clock = options.clock ?? systemClock;

  return {
    async insert(passkey) {
      const row = {
        id: passkey.id,
        user_id: passkey.userId,
        name: passkey.name,
        public_key: passkey.publicKey,
        sign_count: passkey.signCount,
        transports: JSON.stringify([...passkey.transports]),
        backup_eligible: passkey.backupEligible ? 1 : 0,
        backed_up: passkey.backedUp ? 1 : 0,
        created_at: toIso(clock()),
        last_used_at: null,
      };
      await db.insertInto("webauthn_credentials").values(row).execute();
      return toPasskey(row);
    },

    async findById(id) {
      const row = await db.selectFrom("webauthn_credentials").selectAll().where("id", "=", id).executeTakeFirst();
      return row && toPasskey(row);
    },

    async listForUser(userId) {
      const rows = await db
        .selectFrom("webauthn_credentials")
        .selectAll()
        .where("user_id", "=", userId)
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(toPasskey);
    },

    async countForUser(userId) {
      const row = await db
        .selectFrom("webauthn_credentials")
        .select((eb) => eb.fn.countAll<number | string | bigint>().as("count"))
        .where("user_id", "=", userId)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },

    async updateAfterLogin(id, expectedSignCount, update) {
      const result = await db
        .updateTable("webauthn_credentials")
        .set({ sign_count: update.signCount, backed_up: update.backedUp ? 1 : 0, last_used_at: toIso(clock()) })
        .where("id", "=", id)
        .where("sign_count", "=", expectedSignCount)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    async delete(id, userId) {
      const result = await db.deleteFrom("webauthn_credentials").where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
      return result.numDeletedRows === 1n;
    },
  };
}

function toPasskey(row: Selectable<WebauthnCredentialsTable>): Passkey {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    publicKey: row.public_key,
    signCount: Number(row.sign_count),
    transports: parseStringList(row.transports, "webauthn_credentials.transports"),
    backupEligible: row.backup_eligible === 1,
    backedUp: row.backed_up === 1,
    createdAt: fromIso(row.created_at),
    lastUsedAt: fromIsoOrNull(row.last_used_at),
  };
}
