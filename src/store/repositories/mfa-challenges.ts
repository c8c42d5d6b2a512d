/**
 * Pending second-factor logins: what `POST /auth/login` hands out as `mfa_token` once the password is
 * right. Stored only as a hash, bound to the user and the client address, short-lived, spent once by a
 * conditional UPDATE (like refresh tokens), so it works across instances sharing the database.
 */
import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { Database, MfaChallengesTable } from "../schema.ts";
import { type RepositoryOptions, fromIso, fromIsoOrNull, systemClock, toIso } from "./shared.ts";

export interface MfaChallenge {
  id: string;
  tokenHash: string;
  userId: string;
  clientIp: string;
  cookieSession: boolean;
  createdAt: Date;
  expiresAt: Date;
  consumedAt: Date | null;
}

export interface NewMfaChallenge {
  tokenHash: string;
  userId: string;
  clientIp: string;
  cookieSession: boolean;
  expiresAt: Date;
}

export interface MfaChallengesRepository {
  insert(challenge: NewMfaChallenge): Promise<MfaChallenge>;
  /** Whatever its state. */
  findByHash(tokenHash: string): Promise<MfaChallenge | undefined>;
  /** Spends it if unspent and unexpired: of two concurrent calls exactly one gets `true`. */
  consume(id: string): Promise<boolean>;
  /** Every pending challenge of the user goes (password change, account disabled). Returns how many. */
  deleteForUser(userId: string): Promise<number>;
  purgeExpired(before: Date): Promise<number>;
}

export function createMfaChallengesRepository(db: Kysely<Database>, options: RepositoryOptions = {}): MfaChallengesRepository {
  const clock = options.clock ?? systemClock;
  return {
    async insert(challenge) {
      const row = {
        id: randomUUID(),
        token_hash: challenge.tokenHash,
        user_id: challenge.userId,
        client_ip: challenge.clientIp,
        cookie_session: challenge.cookieSession ? 1 : 0,
        created_at: toIso(clock()),
        expires_at: toIso(challenge.expiresAt),
        consumed_at: null,
      };
      await db.insertInto("mfa_challenges").values(row).execute();
      return toChallenge(row);
    },

    async findByHash(tokenHash) {
      const row = await db.selectFrom("mfa_challenges").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
      return row && toChallenge(row);
    },

    async consume(id) {
      const now = toIso(clock());
      const result = await db
        .updateTable("mfa_challenges")
        .set({ consumed_at: now })
        .where("id", "=", id)
        .where("consumed_at", "is", null)
        .where("expires_at", ">", now)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    async deleteForUser(userId) {
      const result = await db.deleteFrom("mfa_challenges").where("user_id", "=", userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async purgeExpired(before) {
      const result = await db.deleteFrom("mfa_challenges").where("expires_at", "<", toIso(before)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function toChallenge(row: Selectable<MfaChallengesTable>): MfaChallenge {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    userId: row.user_id,
    clientIp: row.client_ip,
    cookieSession: Number(row.cookie_session) === 1,
    createdAt: fromIso(row.created_at),
    expiresAt: fromIso(row.expires_at),
    consumedAt: fromIsoOrNull(row.consumed_at),
  };
}
