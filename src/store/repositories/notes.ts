/** The example resource. Ownership checks belong to the handler; this only stores and lists. */
import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { Database, NotesTable } from "../schema.ts";
import { type Page, type RepositoryOptions, clampLimit, clampOffset, fromIso, systemClock, toIso } from "./shared.ts";

export interface Note {
  id: string;
  ownerId: string;
  title: string;
  body: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewNote {
  ownerId: string;
  title: string;
  body: string;
}

export interface NotesRepository {
  create(note: NewNote): Promise<Note>;
  get(id: string): Promise<Note | undefined>;
  /** Newest first; `limit` defaults to 50, clamped to 1..500. */
  listForOwner(ownerId: string, page?: Page): Promise<Note[]>;
  listAll(page?: Page): Promise<Note[]>;
  /** Only title and body can change. Undefined when no such note. */
  update(id: string, patch: { title?: string; body?: string }): Promise<Note | undefined>;
  delete(id: string): Promise<boolean>;
}

export function createNotesRepository(db: Kysely<Database>, options: RepositoryOptions = {}): NotesRepository {
  const clock = options.clock ?? systemClock;

  const list = async (ownerId: string | undefined, page: Page) => {
    let query = db.selectFrom("notes").selectAll();
    if (ownerId !== undefined) query = query.where("owner_id", "=", ownerId);
    const rows = await query
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(clampLimit(page.limit, 50))
      .offset(clampOffset(page.offset))
      .execute();
    return rows.map(toNote);
  };

  const get = async (id: string) => {
    const row = await db.selectFrom("notes").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toNote(row);
  };

  return {
    async create({ ownerId, title, body }) {
      const now = toIso(clock());
      const row = { id: randomUUID(), owner_id: ownerId, title, body, created_at: now, updated_at: now };
      await db.insertInto("notes").values(row).execute();
      return toNote(row);
    },

    get,
    listForOwner: (ownerId, page = {}) => list(ownerId, page),
    listAll: (page = {}) => list(undefined, page),

    async update(id, { title, body }) {
      // Built field by field so nothing but title and body can ever reach the UPDATE.
      const set: { title?: string; body?: string } = {};
      if (title !== undefined) set.title = title;
      if (body !== undefined) set.body = body;
      if (Object.keys(set).length === 0) return get(id);
      const row = await db
        .updateTable("notes")
        .set({ ...set, updated_at: toIso(clock()) })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst();
      return row && toNote(row);
    },

    async delete(id) {
      const result = await db.deleteFrom("notes").where("id", "=", id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    },
  };
}

function toNote(row: Selectable<NotesTable>): Note {
  return {
    id: row.id,
    ownerId: row.owner_id,
    title: row.title,
    body: row.body,
    createdAt: fromIso(row.created_at),
    updatedAt: fromIso(row.updated_at),
  };
}
