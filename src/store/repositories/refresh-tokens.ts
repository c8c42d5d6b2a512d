/**
 * Refresh tokens, stored only as hashes and grouped in families (one login = one family). Rotation
 * spends the presented token; presenting a spent one again is theft and revokes its family.
 */
import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { Database, RefreshTokensTable } from "../schema.ts";
import { type RepositoryOptions, fromIso, fromIsoOrNull, inTransaction, systemClock, toIso, uniqueSorted } from "./shared.ts";

export interface RefreshToken {
  id: string;
  familyId: string;
  userId: string;
  tokenHash: string;
  createdAt: Date;
  expiresAt: Date;
  spentAt: Date | null;
  revokedAt: Date | null;
}

export interface NewRefreshToken {
  /** Default: a random UUID. */
  id?: string;
  familyId: string;
  userId: string;
  tokenHash: string;
  expiresAt: Date;
}

/** One login's family of refresh tokens, as its owner sees it. */
export interface SessionSummary {
  familyId: string;
  /** The login. */
  startedAt: Date;
  /** The last refresh (or the login). */
  lastActiveAt: Date;
  /** When the newest refresh token of the family expires. */
  expiresAt: Date;
}

export interface RefreshTokensRepository {
  insert(token: NewRefreshToken): Promise<RefreshToken>;
  /** Whatever its state: the caller needs spent tokens to detect reuse. */
  findByHash(tokenHash: string): Promise<RefreshToken | undefined>;
  /**
   * Spends the token if it is unspent, unrevoked and unexpired, in one conditional UPDATE: of two
   * concurrent refreshes with the same token exactly one gets `true`.
   */
  markSpent(id: string): Promise<boolean>;
  /**
   * Rotation in one transaction: spends `id` (as `markSpent`) and inserts `next`, or does neither.
   * Returns false, writing nothing, when `id` could not be spent. A failure in between (database lost)
   * leaves the presented token unspent, so the client's retry is not mistaken for reuse.
   */
  rotate(id: string, next: NewRefreshToken): Promise<boolean>;
  /** Revokes every token of the family; returns how many were still unrevoked. */
  revokeFamily(familyId: string): Promise<number>;
  /** Revokes all the user's tokens (but those of `exceptFamilyId`); returns the affected family ids. */
  revokeAllForUser(userId: string, options?: { exceptFamilyId?: string }): Promise<string[]>;
  /** Families holding a token that can still be used. */
  liveFamiliesOf(userId: string): Promise<string[]>;
  /** The user's live sessions (families), most recently active first. */
  sessionsOf(userId: string): Promise<SessionSummary[]>;
  /** Deletes tokens that expired before `before`; returns how many. */
  purgeExpired(before: Date): Promise<number>;
}

export function createRefreshTokensRepository(
  db: Kysely<Database>,
  options: RepositoryOptions = {},
): RefreshTokensRepository {
  const clock = options.clock ?? systemClock;

  return {
    async insert(token) {
      const row = {
        id: token.id ?? randomUUID(),
        family_id: token.familyId,
        user_id: token.userId,
        token_hash: token.tokenHash,
        created_at: toIso(clock()),
        expires_at: toIso(token.expiresAt),
        spent_at: null,
        revoked_at: null,
      };
      await db.insertInto("refresh_tokens").values(row).execute();
      return toRefreshToken(row);
    },

    async findByHash(tokenHash) {
      const row = await db
        .selectFrom("refresh_tokens")
        .selectAll()
        .where("token_hash", "=", tokenHash)
        .executeTakeFirst();
      return row && toRefreshToken(row);
    },

    async markSpent(id) {
      const now = toIso(clock());
      const result = await db
        .updateTable("refresh_tokens")
        .set({ spent_at: now })
        .where("id", "=", id)
        .where("spent_at", "is", null)
        .where("revoked_at", "is", null)
        .where("expires_at", ">", now)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    rotate(id, next) {
      return inTransaction(db, async (trx) => {
        const repo = createRefreshTokensRepository(trx, options);
        if (!(await repo.markSpent(id))) return false;
        await repo.insert(next);
        return true;
      });
    },

    async revokeFamily(familyId) {
      const result = await db
        .updateTable("refresh_tokens")
        .set({ revoked_at: toIso(clock()) })
        .where("family_id", "=", familyId)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async revokeAllForUser(userId, { exceptFamilyId } = {}) {
      let query = db
        .updateTable("refresh_tokens")
        .set({ revoked_at: toIso(clock()) })
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null);
      if (exceptFamilyId !== undefined) query = query.where("family_id", "!=", exceptFamilyId);
      const rows = await query.returning("family_id").execute();
      return uniqueSorted(rows.map((r) => r.family_id));
    },

    async liveFamiliesOf(userId) {
      const rows = await db
        .selectFrom("refresh_tokens")
        .select("family_id")
        .distinct()
        .where("user_id", "=", userId)
        .where("spent_at", "is", null)
        .where("revoked_at", "is", null)
        .where("expires_at", ">", toIso(clock()))
        .orderBy("family_id")
        .execute();
      return rows.map((r) => r.family_id);
    },

    async sessionsOf(userId) {
      const now = clock().getTime();
      const rows = await db
        .selectFrom("refresh_tokens")
        .select(["family_id", "created_at", "expires_at", "spent_at"])
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .execute();
      const families = new Map<string, SessionSummary & { live: boolean }>();
      for (const row of rows) {
        const created = fromIso(row.created_at);
        const expires = fromIso(row.expires_at);
        const live = row.spent_at === null && expires.getTime() > now;
        const seen = families.get(row.family_id);
        if (!seen) {
          families.set(row.family_id, { familyId: row.family_id, startedAt: created, lastActiveAt: created, expiresAt: expires, live });
          continue;
        }
        if (created < seen.startedAt) seen.startedAt = created;
        if (created > seen.lastActiveAt) seen.lastActiveAt = created;
        if (expires > seen.expiresAt) seen.expiresAt = expires;
        seen.live ||= live;
      }
      return [...families.values()]
        .filter((f) => f.live)
        .map(({ live: _, ...summary }) => summary)
        .sort((a, b) => b.lastActiveAt.getTime() - a.lastActiveAt.getTime());
    },

    async purgeExpired(before) {
      const result = await db.deleteFrom("refresh_tokens").where("expires_at", "<", toIso(before)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function toRefreshToken(row: Selectable<RefreshTokensTable>): RefreshToken {
  return {
    id: row.id,
    familyId: row.family_id,
    userId: row.user_id,
    tokenHash: row.token_hash,
    createdAt: fromIso(row.created_at),
    expiresAt: fromIso(row.expires_at),
    spentAt: fromIsoOrNull(row.spent_at),
    revokedAt: fromIsoOrNull(row.revoked_at),
  };
}
