/**
 * Notes: object-level authorization (BOLA) and mass assignment. Every attack is sent, refused, and
 * followed by a read-back proving nothing changed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertProblem } from "../../support/identity.ts";
import { addresses, type AuthzServer, caller, createUser, pointers, stableProblem, startServer, type TestUser } from "../../support/authz.ts";

interface NoteOut {
  id: string;
  owner_id: string;
  title: string;
  body: string;
  created_at: string;
  updated_at: string;
}

interface Page {
  items: NoteOut[];
  limit: number;
  offset: number;
  next_offset: number | null;
}

const ip = addresses(101);
let server: AuthzServer;
let alice: TestUser;
let bob: TestUser;
let carol: TestUser;

before(async () => {
  server = await startServer();
  alice = await createUser(server.app, "alice", ip());
  bob = await createUser(server.app, "bob", ip());
  carol = await createUser(server.app, "carol", ip());
});

after(async () => {
  await server.close();
});

async function createNote(user: TestUser, title: string, body?: string): Promise<NoteOut> {
  const response = await caller(server.app, user)("POST", "/api/notes", body === undefined ? { title } : { title, body });
  assert.equal(response.statusCode, 201, response.body);
  return response.json() as NoteOut;
}

async function listAll(user: TestUser): Promise<NoteOut[]> {
  const response = await caller(server.app, user)("GET", "/api/notes?limit=100");
  assert.equal(response.statusCode, 200, response.body);
  return (response.json() as Page).items;
}

describe("notes: object-level authorization (BOLA)", () => {
  let note: NoteOut;

  before(async () => {
    note = await createNote(alice, "alice's secret", "launch codes");
  });

  it("201 carries exactly id, owner_id, title, body, created_at, updated_at, owned by the creator", () => {
    assert.deepEqual(Object.keys(note).sort(), ["body", "created_at", "id", "owner_id", "title", "updated_at"]);
    assert.equal(note.owner_id, alice.id);
    assert.equal(note.title, "alice's secret");
    assert.equal(note.body, "launch codes");
    assert.equal(typeof note.id, "string");
    assert.ok(note.id.length > 0);
    for (const stamp of [note.created_at, note.updated_at]) assert.ok(!Number.isNaN(Date.parse(stamp)), stamp);
  });

  it("the owner reads it back identical", async () => {
    const response = await caller(server.app, alice)("GET", `/api/notes/${note.id}`);
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), note);
  });

  it("another user gets 404 problem+json on GET, PATCH and DELETE, and the note is unchanged", async () => {
    const asBob = caller(server.app, bob);
    assertProblem(await asBob("GET", `/api/notes/${note.id}`), 404);
    assertProblem(await asBob("PATCH", `/api/notes/${note.id}`, { title: "pwned", body: "pwned" }), 404);
    assertProblem(await asBob("DELETE", `/api/notes/${note.id}`), 404);

    const back = await caller(server.app, alice)("GET", `/api/notes/${note.id}`);
    assert.equal(back.statusCode, 200, back.body);
    assert.deepEqual(back.json(), note, "title, body, owner and timestamps are untouched");
  });

  it("the 404 for someone else's note is indistinguishable from the 404 for an id that does not exist", async () => {
    const asBob = caller(server.app, bob);
    for (const method of ["GET", "PATCH", "DELETE"] as const) {
      const payload = method === "PATCH" ? { title: "x" } : undefined;
      const theirs = await asBob(method, `/api/notes/${note.id}`, payload);
      const missing = await asBob(method, "/api/notes/00000000-0000-4000-8000-000000000000", payload);
      assertProblem(theirs, 404);
      assertProblem(missing, 404);
      assert.deepEqual(stableProblem(theirs), stableProblem(missing), `${method}: same body`);
    }
  });

  it("HEAD of someone else's note is 404 too (the HEAD twin keeps the object check)", async () => {
    assert.equal((await caller(server.app, bob)("HEAD", `/api/notes/${note.id}`)).statusCode, 404);
    assert.equal((await caller(server.app, alice)("HEAD", `/api/notes/${note.id}`)).statusCode, 200);
  });

  it("another user's list has the shape { items, limit, offset, next_offset } and never the note", async () => {
    await createNote(bob, "bob's own");
    const response = await caller(server.app, bob)("GET", "/api/notes");
    assert.equal(response.statusCode, 200, response.body);
    const page = response.json() as Page;
    assert.deepEqual(Object.keys(page).sort(), ["items", "limit", "next_offset", "offset"]);
    assert.ok(page.items.length >= 1);
    assert.ok(page.items.every((n) => n.owner_id === bob.id), "only bob's notes");
    assert.ok(!page.items.some((n) => n.id === note.id), "alice's note is not listed");
    assert.ok((await listAll(alice)).some((n) => n.id === note.id), "alice still lists it");
  });

  it("anonymous callers get 401 with WWW-Authenticate on the note routes", async () => {
    for (const [method, url] of [
      ["GET", "/api/notes"],
      ["POST", "/api/notes"],
      ["GET", `/api/notes/${note.id}`],
      ["PATCH", `/api/notes/${note.id}`],
      ["DELETE", `/api/notes/${note.id}`],
    ] as const) {
      const response = await server.app.inject({ method, url, remoteAddress: bob.ip, ...(method === "POST" || method === "PATCH" ? { payload: { title: "x" } } : {}) });
      assertProblem(response, 401, `${method} ${url}`);
      assert.match(String(response.headers["www-authenticate"]), /^Bearer\b/, `${method} ${url}`);
    }
    assert.deepEqual((await caller(server.app, alice)("GET", `/api/notes/${note.id}`)).json(), note);
  });

  it("the owner can delete their own note; afterwards it is 404 for them too", async () => {
    const doomed = await createNote(alice, "temporary");
    assert.equal((await caller(server.app, alice)("DELETE", `/api/notes/${doomed.id}`)).statusCode, 204);
    assertProblem(await caller(server.app, alice)("GET", `/api/notes/${doomed.id}`), 404);
  });
});

describe("notes: pagination", () => {
  it("limit/offset/next_offset walk a caller's notes exactly", async () => {
    for (const title of ["one", "two", "three"]) await createNote(carol, title);
    const asCarol = caller(server.app, carol);

    const first = await asCarol("GET", "/api/notes?limit=2");
    assert.equal(first.statusCode, 200, first.body);
    const page1 = first.json() as Page;
    assert.equal(page1.items.length, 2);
    assert.equal(page1.limit, 2);
    assert.equal(page1.offset, 0);
    assert.equal(page1.next_offset, 2);

    const second = await asCarol("GET", "/api/notes?limit=2&offset=2");
    assert.equal(second.statusCode, 200, second.body);
    const page2 = second.json() as Page;
    assert.equal(page2.items.length, 1);
    assert.equal(page2.offset, 2);
    assert.equal(page2.next_offset, null);

    const ids = [...page1.items, ...page2.items].map((n) => n.id);
    assert.equal(new Set(ids).size, 3, "the two pages do not overlap");
  });

  it("limit=0 and limit=1000 are 400 pointing at /query/limit", async () => {
    for (const limit of ["0", "1000", "-1", "abc"]) {
      const response = await caller(server.app, carol)("GET", `/api/notes?limit=${limit}`);
      assertProblem(response, 400, `limit=${limit}`);
      assert.deepEqual(pointers(response), ["/query/limit"], `limit=${limit}: ${response.body}`);
    }
  });

  it("an unknown query parameter is 400, not ignored (no ?owner_id= to widen the list)", async () => {
    const response = await caller(server.app, carol)("GET", `/api/notes?owner_id=${alice.id}`);
    assertProblem(response, 400);
    assert.deepEqual(pointers(response), ["/query/owner_id"]);
  });
});

describe("notes: mass assignment and input bounds", () => {
  it("POST with owner_id, id or created_at is 400 naming the field, and nothing is created", async () => {
    const asAlice = caller(server.app, alice);
    const before = (await listAll(alice)).length;
    for (const [field, value] of [
      ["owner_id", bob.id],
      ["id", "00000000-0000-4000-8000-000000000001"],
      ["created_at", "2000-01-01T00:00:00.000Z"],
    ] as const) {
      const response = await asAlice("POST", "/api/notes", { title: "injected", [field]: value });
      const problem = assertProblem(response, 400, field);
      assert.deepEqual(pointers(response), [`/${field}`], response.body);
      assert.match(String(problem.detail), new RegExp(field));
    }
    assert.equal((await listAll(alice)).length, before, "no note was created");
    assert.ok(!(await listAll(bob)).some((n) => n.title === "injected"), "nothing landed in bob's notes");
  });

  it("PATCH with owner_id is 400 and ownership is unchanged", async () => {
    const note = await createNote(alice, "mine");
    const asAlice = caller(server.app, alice);
    const response = await asAlice("PATCH", `/api/notes/${note.id}`, { owner_id: bob.id });
    assertProblem(response, 400);
    assert.deepEqual(pointers(response), ["/owner_id"]);
    const alongside = await asAlice("PATCH", `/api/notes/${note.id}`, { title: "renamed", owner_id: bob.id });
    assertProblem(alongside, 400, "a valid field does not smuggle an invalid one through");
    const withId = await asAlice("PATCH", `/api/notes/${note.id}`, { id: "other" });
    assertProblem(withId, 400);
    assert.deepEqual(pointers(withId), ["/id"]);

    assert.deepEqual((await asAlice("GET", `/api/notes/${note.id}`)).json(), note, "title and owner unchanged");
    assertProblem(await caller(server.app, bob)("GET", `/api/notes/${note.id}`), 404, "bob did not become the owner");
  });

  it("an empty PATCH {} is 400", async () => {
    const note = await createNote(alice, "unchanged");
    const response = await caller(server.app, alice)("PATCH", `/api/notes/${note.id}`, {});
    assertProblem(response, 400);
    assert.deepEqual((await caller(server.app, alice)("GET", `/api/notes/${note.id}`)).json(), note);
  });

  it("a title of 201 characters, a body of 10001 characters, a numeric title are 400 with their pointer", async () => {
    const asAlice = caller(server.app, alice);
    const before = (await listAll(alice)).length;
    const cases: [unknown, string][] = [
      [{ title: "t".repeat(201) }, "/title"],
      [{ title: "ok", body: "b".repeat(10001) }, "/body"],
      [{ title: 42 }, "/title"],
      [{ title: "" }, "/title"],
      [{ body: "no title" }, "/title"],
    ];
    for (const [payload, pointer] of cases) {
      const response = await asAlice("POST", "/api/notes", payload);
      assertProblem(response, 400, JSON.stringify(payload).slice(0, 60));
      assert.deepEqual(pointers(response), [pointer], response.body);
    }
    assert.equal((await listAll(alice)).length, before, "no note was created");
  });

  it("the bounds themselves are accepted: title of 200 and body of 10000 characters", async () => {
    const note = await createNote(alice, "t".repeat(200), "b".repeat(10000));
    assert.equal(note.title.length, 200);
    assert.equal(note.body.length, 10000);
  });

  it("PATCH with an over-long title is 400 and the note is unchanged", async () => {
    const note = await createNote(alice, "short");
    const asAlice = caller(server.app, alice);
    const response = await asAlice("PATCH", `/api/notes/${note.id}`, { title: "t".repeat(201) });
    assertProblem(response, 400);
    assert.deepEqual(pointers(response), ["/title"]);
    assert.deepEqual((await asAlice("GET", `/api/notes/${note.id}`)).json(), note);
  });

  it("the owner's valid PATCH changes only title/body and keeps id, owner and created_at", async () => {
    const note = await createNote(alice, "before", "old");
    const response = await caller(server.app, alice)("PATCH", `/api/notes/${note.id}`, { body: "new" });
    assert.equal(response.statusCode, 200, response.body);
    const updated = response.json() as NoteOut;
    assert.equal(updated.id, note.id);
    assert.equal(updated.owner_id, alice.id);
    assert.equal(updated.created_at, note.created_at);
    assert.equal(updated.title, "before");
    assert.equal(updated.body, "new");
  });
});
