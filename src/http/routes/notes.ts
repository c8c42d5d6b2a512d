/**
 * The example resource: notes. Route declarations gate the action (`notes:read` / `notes:write`);
 * `authorizeObject` gates the object, answering 404 for someone else's note so existence never leaks.
 * Bodies are closed schemas (no `id`, `owner_id` or timestamps can be sent) and responses go through a
 * response schema, so only declared fields leave the server.
 */
import { Type as T } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { authorizeObject } from "../../core/authz/index.ts";
import { userPrincipal } from "./user-principal.ts";
import { RampartError } from "../../core/errors.ts";
import type { Note, NotesRepository } from "../../store/index.ts";
import { NoContent, Pagination } from "./schemas.ts";

const NoteOut = T.Object({
  id: T.String(),
  owner_id: T.String(),
  title: T.String(),
  body: T.String(),
  created_at: T.String(),
  updated_at: T.String(),
});
const Title = T.String({ minLength: 1, maxLength: 200 });
const Body = T.String({ maxLength: 10000 });
const IdParams = T.Object({ id: T.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

function toOut(note: Note) {
  return {
    id: note.id,
    owner_id: note.ownerId,
    title: note.title,
    body: note.body,
    created_at: note.createdAt.toISOString(),
    updated_at: note.updatedAt.toISOString(),
  };
}

function actor(request: FastifyRequest) {
  const principal = request.rampart.principal;
  if (!principal) throw new RampartError("RAMPART_ERR_UNAUTHENTICATED");
  return { id: principal.userId, permissions: principal.permissions };
}

const owned = (note: Note | undefined) => (note ? { ...note, type: "notes" } : undefined);

export function notesRoutes(notes: NotesRepository) {
  return async function routes(app: FastifyInstance) {
    app.get(
      "/api/notes",
      {
        config: { rampart: { permissions: ["notes:read"] } },
        schema: {
          tags: ["notes"],
          querystring: Pagination({ maxLimit: 100, defaultLimit: 20 }),
          response: {
            200: T.Object({ items: T.Array(NoteOut), limit: T.Integer(), offset: T.Integer(), next_offset: T.Union([T.Integer(), T.Null()]) }),
          },
        },
      },
      async (request) => {
        const { limit, offset } = request.query as { limit: number; offset: number };
        const principal = actor(request);
        // One more than asked tells whether a next page exists without a COUNT.
        const page = { limit: limit + 1, offset };
        const rows = principal.permissions.has("notes:read:any") ? await notes.listAll(page) : await notes.listForOwner(principal.id, page);
        return {
          items: rows.slice(0, limit).map(toOut),
          limit,
          offset,
          next_offset: rows.length > limit ? offset + limit : null,
        };
      },
    );

    app.post(
      "/api/notes",
      {
        config: { rampart: { permissions: ["notes:write"] } },
        schema: {
          tags: ["notes"],
          body: T.Object({ title: Title, body: T.Optional(Body) }, { additionalProperties: false }),
          response: { 201: NoteOut },
        },
      },
      async (request, reply) => {
        const { title, body } = request.body as { title: string; body?: string };
        // A service client may read or change others' notes with :any permissions, but owns none.
        const note = await notes.create({ ownerId: userPrincipal(request).userId, title, body: body ?? "" });
        return reply.code(201).send(toOut(note));
      },
    );

    app.get(
      "/api/notes/:id",
      { config: { rampart: { permissions: ["notes:read"] } }, schema: { tags: ["notes"], params: IdParams, response: { 200: NoteOut } } },
      async (request) => {
        const note = authorizeObject(actor(request), "read", owned(await notes.get((request.params as { id: string }).id)));
        return toOut(note);
      },
    );

    app.patch(
      "/api/notes/:id",
      {
        config: { rampart: { permissions: ["notes:write"] } },
        schema: {
          tags: ["notes"],
          params: IdParams,
          body: T.Object({ title: T.Optional(Title), body: T.Optional(Body) }, { additionalProperties: false, minProperties: 1 }),
          response: { 200: NoteOut },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        authorizeObject(actor(request), "write", owned(await notes.get(id)));
        const updated = await notes.update(id, request.body as { title?: string; body?: string });
        if (!updated) throw new RampartError("RAMPART_ERR_NOT_FOUND");
        return toOut(updated);
      },
    );

    app.delete(
      "/api/notes/:id",
      { config: { rampart: { permissions: ["notes:write"] } }, schema: { tags: ["notes"], params: IdParams, response: { 204: NoContent } } },
      async (request, reply) => {
        const { id } = request.params as { id: string };
        authorizeObject(actor(request), "write", owned(await notes.get(id)));
        await notes.delete(id);
        return reply.code(204).send();
      },
    );
  };
}
