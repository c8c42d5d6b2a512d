/**
 * Long-lived API tokens, stored only as a hash of their secret. No read here ever returns the hash:
 * callers look a token up by the hash they computed, and listings are shown to users.
 */
import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { ApiTokensTable, Database } from "../schema.ts";
import {
  type RepositoryOptions,
  fromIso,
  fromIsoOrNull,
  parseStringList,
  systemClock,
  toIso,
  toIsoOrNull,
  uniqueSorted,
} from "./shared.ts";

export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  /** The first characters of the token, shown so users can tell tokens apart. */
  prefix: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export interface NewApiToken {
  /** Default: a random UUID. */
  id?: string;
  userId: string;
  name: string;
  prefix: string;
  secretHash: string;
  scopes: readonly string[];
  expiresAt?: Date | null;
}

export interface ApiTokensRepository {
  insert(token: NewApiToken): Promise<ApiToken>;
  /** Whatever its state: the caller must check `revokedAt` and `expiresAt`. */
  findBySecretHash(secretHash: string): Promise<ApiToken | undefined>;
  /** The user's unrevoked tokens, newest first. */
  listForUser(userId: string): Promise<ApiToken[]>;
  /** Revokes the token only if `userId` owns it and it is not revoked yet. */
  revoke(id: string, userId: string): Promise<boolean>;
  /** Returns how many tokens were revoked. */
  revokeAllForUser(userId: string): Promise<number>;
  touchLastUsed(id: string, at: Date): Promise<void>;
}

// Every column but secret_hash.
const PUBLIC_COLUMNS = [
  "id",
  "user_id",
  "name",
  "prefix",
  "scopes",
  "created_at",
  "expires_at",
  "last_used_at",
  "revoked_at",
] as const;

type PublicRow = Pick<Selectable<ApiTokensTable>, (typeof PUBLIC_COLUMNS)[number]>;

export function createApiTokensRepository(db: Kysely<Database>, options: RepositoryOptions = {}): ApiTokensRepository {
  const clock = options.clock ?? systemClock;

  return {
    async insert(token) {
      const row = {
        id: token.id ?? randomUUID(),
        user_id: token.userId,
        name: token.name,
        prefix: token.prefix,
        scopes: JSON.stringify(uniqueSorted(token.scopes)),
        created_at: toIso(clock()),
        expires_at: toIsoOrNull(token.expiresAt),
        last_used_at: null,
        revoked_at: null,
      };
      await db
        .insertInto("api_tokens")
        .values({ ...row, secret_hash: token.secretHash })
        .execute();
      return toApiToken(row);
    },

    async findBySecretHash(secretHash) {
      const row = await db
        .selectFrom("api_tokens")
        .select(PUBLIC_COLUMNS)
        .where("secret_hash", "=", secretHash)
        .executeTakeFirst();
      return row && toApiToken(row);
    },

    async listForUser(userId) {
      const rows = await db
        .selectFrom("api_tokens")
        .select(PUBLIC_COLUMNS)
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .execute();
      return rows.map(toApiToken);
    },

    async revoke(id, userId) {
      const result = await db
        .updateTable("api_tokens")
        .set({ revoked_at: toIso(clock()) })
        .where("id", "=", id)
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },

    async revokeAllForUser(userId) {
      const result = await db
        .updateTable("api_tokens")
        .set({ revoked_at: toIso(clock()) })
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },

    async touchLastUsed(id, at) {
      await db.updateTable("api_tokens").set({ last_used_at: toIso(at) }).where("id", "=", id).execute();
    },
  };
}

function toApiToken(row: PublicRow): ApiToken {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: row.prefix,
    scopes: parseStringList(row.scopes, "api_tokens.scopes"),
    createdAt: fromIso(row.created_at),
    expiresAt: fromIsoOrNull(row.expires_at),
    lastUsedAt: fromIsoOrNull(row.last_used_at),
    revokedAt: fromIsoOrNull(row.revoked_at),
  };
}
