/**
 * OAuth service clients. Reads never return the secret hash except `findCredentials`, the one read
 * client authentication needs (it compares the hash in constant time itself).
 */
import type { Kysely, Selectable } from "kysely";
import type { Database, ServiceClientsTable } from "../schema.ts";
import { type RepositoryOptions, fromIso, parseStringList, systemClock, toIso, uniqueSorted } from "./shared.ts";

export interface ServiceClient {
  id: string;
  name: string;
  scopes: string[];
  /** The admin who created it; null from the CLI. */
  createdBy: string | null;
  createdAt: Date;
}

export interface NewServiceClient {
  id: string;
  name: string;
  secretHash: string;
  scopes: readonly string[];
  createdBy?: string | null;
}

export interface ServiceClientsRepository {
  insert(client: NewServiceClient): Promise<ServiceClient>;
  findById(id: string): Promise<ServiceClient | undefined>;
  /** The client and its stored secret hash, for authentication only. */
  findCredentials(id: string): Promise<{ client: ServiceClient; secretHash: string } | undefined>;
  /** Every client, oldest first. */
  list(): Promise<ServiceClient[]>;
  /** Removes the client; false when there was none. */
  delete(id: string): Promise<boolean>;
}

const PUBLIC_COLUMNS = ["id", "name", "scopes", "created_by", "created_at"] as const;
type PublicRow = Pick<Selectable<ServiceClientsTable>, (typeof PUBLIC_COLUMNS)[number]>;

export function createServiceClientsRepository(db: Kysely<Database>, options: RepositoryOptions = {}): ServiceClientsRepository {
  const clock = options.clock ?? systemClock;
  return {
    async insert(client) {
      const row = {
        id: client.id,
        name: client.name,
        scopes: JSON.stringify(uniqueSorted(client.scopes)),
        created_by: client.createdBy ?? null,
        created_at: toIso(clock()),
      };
      await db
        .insertInto("service_clients")
        .values({ ...row, secret_hash: client.secretHash })
        .execute();
      return toClient(row);
    },

    async findById(id) {
      const row = await db.selectFrom("service_clients").select(PUBLIC_COLUMNS).where("id", "=", id).executeTakeFirst();
      return row && toClient(row);
    },

    async findCredentials(id) {
      const row = await db
        .selectFrom("service_clients")
        .select([...PUBLIC_COLUMNS, "secret_hash"])
        .where("id", "=", id)
        .executeTakeFirst();
      return row && { client: toClient(row), secretHash: row.secret_hash };
    },

    async list() {
      const rows = await db.selectFrom("service_clients").select(PUBLIC_COLUMNS).orderBy("created_at").orderBy("id").execute();
      return rows.map(toClient);
    },

    async delete(id) {
      const result = await db.deleteFrom("service_clients").where("id", "=", id).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}

function toClient(row: PublicRow): ServiceClient {
  return {
    id: row.id,
    name: row.name,
    scopes: parseStringList(row.scopes, "service_clients.scopes"),
    createdBy: row.created_by,
    createdAt: fromIso(row.created_at),
  };
}
