/**
 * The persisted deny lists: revoked access tokens (by `jti`) and revoked sessions (by `sid`, the refresh
 * family an access token came from). Instances keep them in memory; this is what survives a restart.
 * Rows are needed only until the tokens they kill would have expired anyway.
 */
import type { Kysely } from "kysely";
import type { Database } from "../schema.ts";
import { fromIso, toIso } from "./shared.ts";

export interface RevokedJti {
  jti: string;
  userId: string | null;
  expiresAt: Date;
}

export interface RevokedSession {
  sid: string;
  userId: string;
  expiresAt: Date;
}

export interface RevocationsRepository {
  /** Idempotent; revoking again keeps the later expiry. */
  revokeJti(jti: string, userId: string | null, expiresAt: Date): Promise<void>;
  /** `expiresAt`: when the last access token of the session expires. Idempotent, keeps the later expiry. */
  revokeSession(sid: string, userId: string, expiresAt: Date): Promise<void>;
  /** Everything still in force at `now`, for warming an in-memory deny set at start. */
  activeSince(now: Date): Promise<{ jtis: RevokedJti[]; sessions: RevokedSession[] }>;
  /**
   * Whether the token `jti`, or the session `sid`, is revoked at `now`: asked per request only while an
   * instance cannot trust its in-memory list (its revocation broadcast is down).
   */
  isRevoked(jti: string, sid: string | undefined, now: Date): Promise<boolean>;
  /** Deletes entries that expired at or before `now`; returns how many. */
  purgeExpired(now: Date): Promise<number>;
}

export function createRevocationsRepository(db: Kysely<Database>): RevocationsRepository {
  return {
    async revokeJti(jti, userId, expiresAt) {
      await db
        .insertInto("revoked_tokens")
        .values({ jti, user_id: userId, expires_at: toIso(expiresAt) })
        .onConflict((oc) =>
          oc
            .column("jti")
            .doUpdateSet((eb) => ({ expires_at: eb.ref("excluded.expires_at") }))
            .where((eb) => eb("revoked_tokens.expires_at", "<", eb.ref("excluded.expires_at"))),
        )
        .execute();
    },

    async revokeSession(sid, userId, expiresAt) {
      await db
        .insertInto("revoked_sessions")
        .values({ sid, user_id: userId, expires_at: toIso(expiresAt) })
        .onConflict((oc) =>
          oc
            .column("sid")
            .doUpdateSet((eb) => ({ expires_at: eb.ref("excluded.expires_at") }))
            .where((eb) => eb("revoked_sessions.expires_at", "<", eb.ref("excluded.expires_at"))),
        )
        .execute();
    },

    async activeSince(now) {
      const at = toIso(now);
      const [jtis, sessions] = await Promise.all([
        db.selectFrom("revoked_tokens").selectAll().where("expires_at", ">", at).orderBy("jti").execute(),
        db.selectFrom("revoked_sessions").selectAll().where("expires_at", ">", at).orderBy("sid").execute(),
      ]);
      return {
        jtis: jtis.map((r) => ({ jti: r.jti, userId: r.user_id, expiresAt: fromIso(r.expires_at) })),
        sessions: sessions.map((r) => ({ sid: r.sid, userId: r.user_id, expiresAt: fromIso(r.expires_at) })),
      };
    },

    async isRevoked(jti, sid, now) {
      const at = toIso(now);
      const [token, session] = await Promise.all([
        db.selectFrom("revoked_tokens").select("jti").where("jti", "=", jti).where("expires_at", ">", at).executeTakeFirst(),
        sid === undefined
          ? undefined
          : db.selectFrom("revoked_sessions").select("sid").where("sid", "=", sid).where("expires_at", ">", at).executeTakeFirst(),
      ]);
      return token !== undefined || session !== undefined;
    },

    async purgeExpired(now) {
      const at = toIso(now);
      const [tokens, sessions] = await Promise.all([
        db.deleteFrom("revoked_tokens").where("expires_at", "<=", at).executeTakeFirst(),
        db.deleteFrom("revoked_sessions").where("expires_at", "<=", at).executeTakeFirst(),
      ]);
      return Number(tokens.numDeletedRows + sessions.numDeletedRows);
    },
  };
}
