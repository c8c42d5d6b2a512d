/**
 * WebAuthn challenges, stored only as hashes. `consume` deletes the row in the same statement that
 * finds it (DELETE … RETURNING), so of two requests presenting one challenge exactly one gets it, on
 * one instance or many: a replayed ceremony is refused.
 */
import type { Kysely } from "kysely";
import type { Database } from "../schema.ts";
import { type RepositoryOptions, systemClock, toIso } from "./shared.ts";

export type ChallengeKind = "register" | "login";

export interface NewChallenge {
  challengeHash: string;
  kind: ChallengeKind;
  /** The user a registration challenge was issued to; `null` for login. */
  userId: string | null;
  expiresAt: Date;
}

export interface WebauthnChallengesRepository {
  insert(challenge: NewChallenge): Promise<void>;
  /**
   * Spends the challenge if it exists, is of this kind, belongs to `userId` (null: a login challenge)
   * and has not expired. `true` exactly once per challenge; a challenge presented for another user is
   * left alone for its owner.
   */
  consume(challengeHash: string, kind: ChallengeKind, userId: string | null): Promise<boolean>;
  /** Deletes challenges that expired before `before`; returns how many. */
  purgeExpired(before: Date): Promise<number>;
}

export function createWebauthnChallengesRepository(db: Kysely<Database>, options: RepositoryOptions = {}): WebauthnChallengesRepository {
  const clock = options.clock ?? systemClock;

  return {
    async insert(challenge) {
      await db
        .insertInto("webauthn_challenges")
        .values({
          challenge_hash: challenge.challengeHash,
          kind: challenge.kind,
          user_id: challenge.userId,
          created_at: toIso(clock()),
          expires_at: toIso(challenge.expiresAt),
        })
        .execute();
    },

    async consume(challengeHash, kind, userId) {
      let query = db
        .deleteFrom("webauthn_challenges")
        .where("challenge_hash", "=", challengeHash)
        .where("kind", "=", kind)
        .where("expires_at", ">", toIso(clock()));
      query = userId === null ? query.where("user_id", "is", null) : query.where("user_id", "=", userId);
      const result = await query.executeTakeFirst();
      return result.numDeletedRows === 1n;
    },

    async purgeExpired(before) {
      const result = await db.deleteFrom("webauthn_challenges").where("expires_at", "<", toIso(before)).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
