/**
 * TOTP factors and recovery codes. The TOTP seed arrives already sealed (the repository never sees it
 * in clear); recovery codes arrive already hashed. Acceptance is one conditional UPDATE each, so two
 * concurrent requests with the same code cannot both win.
 */
import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Database } from "../schema.ts";
import { type RepositoryOptions, fromIso, fromIsoOrNull, inTransaction, systemClock, toIso } from "./shared.ts";

export interface TotpFactor {
  userId: string;
  secretSealed: string;
  confirmedAt: Date | null;
  lastStep: number | null;
  createdAt: Date;
}

export interface SecondFactorsRepository {
  /** Starts (or restarts) an unconfirmed enrolment; a confirmed factor is replaced only by `confirm`. */
  startTotp(userId: string, secretSealed: string): Promise<void>;
  getTotp(userId: string): Promise<TotpFactor | undefined>;
  /** Confirms the factor with its first accepted step and replaces every recovery code. */
  confirmTotp(userId: string, step: number, recoveryCodeHashes: readonly string[]): Promise<boolean>;
  /** Records `step` as used if it is above the last used one: false means a replayed code. */
  acceptStep(userId: string, step: number): Promise<boolean>;
  /** Removes the TOTP factor and the recovery codes. */
  removeTotp(userId: string): Promise<boolean>;
  /** Replaces every recovery code of the user. */
  replaceRecoveryCodes(userId: string, codeHashes: readonly string[]): Promise<void>;
  /** Spends an unused code: true exactly once per code. */
  useRecoveryCode(userId: string, codeHash: string): Promise<boolean>;
  remainingRecoveryCodes(userId: string): Promise<number>;
}

export function createSecondFactorsRepository(db: Kysely<Database>, options: RepositoryOptions = {}): SecondFactorsRepository {
  const clock = options.clock ?? systemClock;

  const replaceCodes = async (trx: Kysely<Database>, userId: string, hashes: readonly string[]) => {
    await trx.deleteFrom("recovery_codes").where("user_id", "=", userId).execute();
    if (hashes.length === 0) return;
    const now = toIso(clock());
    await trx
      .insertInto("recovery_codes")
      .values(hashes.map((code_hash) => ({ id: randomUUID(), user_id: userId, code_hash, created_at: now, used_at: null })))
      .execute();
  };

  return {
    async startTotp(userId, secretSealed) {
      const now = toIso(clock());
      await inTransaction(db, async (trx) => {
        const existing = await trx.selectFrom("totp_factors").select("confirmed_at").where("user_id", "=", userId).executeTakeFirst();
        if (existing) {
          // Re-enrolling over a confirmed factor: the pending seed waits in the same row until confirmed.
          await trx
            .updateTable("totp_factors")
            .set({ secret_sealed: secretSealed, confirmed_at: null, last_step: null, created_at: now })
            .where("user_id", "=", userId)
            .execute();
        } else {
          await trx
            .insertInto("totp_factors")
            .values({ user_id: userId, secret_sealed: secretSealed, confirmed_at: null, last_step: null, created_at: now })
            .execute();
        }
      });
    },

    async getTotp(userId) {
      const row = await db.selectFrom("totp_factors").selectAll().where("user_id", "=", userId).executeTakeFirst();
      return (
        row && {
          userId: row.user_id,
          secretSealed: row.secret_sealed,
          confirmedAt: fromIsoOrNull(row.confirmed_at),
          lastStep: row.last_step === null ? null : Number(row.last_step),
          createdAt: fromIso(row.created_at),
        }
      );
    },

    confirmTotp(userId, step, recoveryCodeHashes) {
      return inTransaction(db, async (trx) => {
        const result = await trx
          .updateTable("totp_factors")
          .set({ confirmed_at: toIso(clock()), last_step: step })
          .where("user_id", "=", userId)
          .where((eb) => eb.or([eb("last_step", "is", null), eb("last_step", "<", step)]))
          .executeTakeFirst();
        if (result.numUpdatedRows !== 1n) return false;
        await replaceCodes(trx, userId, recoveryCodeHashes);
        return true;
      });
    },

    async acceptStep(userId, step) {
      const result = await db
        .updateTable("totp_factors")
        .set({ last_step: step })
        .where("user_id", "=", userId)
        .where("confirmed_at", "is not", null)
        .where((eb) => eb.or([eb("last_step", "is", null), eb("last_step", "<", step)]))
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    removeTotp(userId) {
      return inTransaction(db, async (trx) => {
        const result = await trx.deleteFrom("totp_factors").where("user_id", "=", userId).executeTakeFirst();
        await trx.deleteFrom("recovery_codes").where("user_id", "=", userId).execute();
        return result.numDeletedRows > 0n;
      });
    },

    replaceRecoveryCodes: (userId, codeHashes) => inTransaction(db, (trx) => replaceCodes(trx, userId, codeHashes)),

    async useRecoveryCode(userId, codeHash) {
      const result = await db
        .updateTable("recovery_codes")
        .set({ used_at: toIso(clock()) })
        .where("user_id", "=", userId)
        .where("code_hash", "=", codeHash)
        .where("used_at", "is", null)
        .executeTakeFirst();
      return result.numUpdatedRows >= 1n;
    },

    async remainingRecoveryCodes(userId) {
      const { count } = await db
        .selectFrom("recovery_codes")
        .where("user_id", "=", userId)
        .where("used_at", "is", null)
        .select((eb) => eb.fn.countAll<number | string | bigint>().as("count"))
        .executeTakeFirstOrThrow();
      return Number(count);
    },
  };
}
