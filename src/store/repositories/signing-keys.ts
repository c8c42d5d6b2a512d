/**
 * JWT signing keys. A retired key stops signing but still verifies until `retiredAt` plus the longest
 * token lifetime; deciding that window is the token layer's job.
 */
import type { Kysely, Selectable } from "kysely";
import type { Database, SigningKeysTable } from "../schema.ts";
import { type RepositoryOptions, fromIso, fromIsoOrNull, parseObject, systemClock, toIso } from "./shared.ts";

/** `pending`: published in the JWKS before it signs; `active`: signs; `retired`: verifies only. */
export type SigningKeyStatus = "pending" | "active" | "retired";
const STATUSES: readonly string[] = ["pending", "active", "retired"] satisfies SigningKeyStatus[];

export type Jwk = Record<string, unknown>;

export interface SigningKey {
  kid: string;
  alg: string;
  privateJwk: Jwk;
  publicJwk: Jwk;
  status: SigningKeyStatus;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface NewSigningKey {
  kid: string;
  alg: string;
  privateJwk: Jwk;
  publicJwk: Jwk;
  /** Default `active`. */
  status?: SigningKeyStatus;
}

export interface SigningKeysRepository {
  /** Newest first, retired ones included. */
  list(): Promise<SigningKey[]>;
  insert(key: NewSigningKey): Promise<SigningKey>;
  /** Marks the key retired at `at`; false when unknown or already retired. */
  retire(kid: string, at: Date): Promise<boolean>;
}

export function createSigningKeysRepository(
  db: Kysely<Database>,
  options: RepositoryOptions = {},
): SigningKeysRepository {
  const clock = options.clock ?? systemClock;

  return {
    async list() {
      const rows = await db
        .selectFrom("signing_keys")
        .selectAll()
        .orderBy("created_at", "desc")
        .orderBy("kid", "desc")
        .execute();
      return rows.map(toSigningKey);
    },

    async insert(key) {
      const row = {
        kid: key.kid,
        alg: key.alg,
        private_jwk: JSON.stringify(key.privateJwk),
        public_jwk: JSON.stringify(key.publicJwk),
        created_at: toIso(clock()),
        retired_at: null,
        status: key.status ?? "active",
      };
      await db.insertInto("signing_keys").values(row).execute();
      return toSigningKey(row);
    },

    async retire(kid, at) {
      const result = await db
        .updateTable("signing_keys")
        .set({ status: "retired", retired_at: toIso(at) })
        .where("kid", "=", kid)
        .where("status", "!=", "retired")
        .executeTakeFirst();
      return result.numUpdatedRows === 1n;
    },
  };
}

function toSigningKey(row: Selectable<SigningKeysTable>): SigningKey {
  if (!STATUSES.includes(row.status)) throw new TypeError(`signing key ${row.kid} has unknown status`);
  return {
    kid: row.kid,
    alg: row.alg,
    privateJwk: parseObject(row.private_jwk, "signing_keys.private_jwk"),
    publicJwk: parseObject(row.public_jwk, "signing_keys.public_jwk"),
    status: row.status as SigningKeyStatus,
    createdAt: fromIso(row.created_at),
    retiredAt: fromIsoOrNull(row.retired_at),
  };
}
