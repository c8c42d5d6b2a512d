/**
 * API-token scopes narrow what the owner may do, never widen it: a `notes:read` token reads but
 * cannot write (403 insufficient_scope), a `*` token of a plain user is still a plain user, and a
 * `:any` scope does not reach other people's notes unless the owner's roles grant it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertProblem } from "../../support/identity.ts";
import { addresses, type AuthzServer, caller, createUser, send, startServer, type TestUser } from "../../support/authz.ts";

interface NoteOut {
  id: string;
  owner_id: string;
  title: string;
}

const ip = addresses(103);
let server: AuthzServer;
let owner: TestUser;
let other: TestUser;
let ownNote: NoteOut;
let othersNote: NoteOut;

async function mintToken(user: TestUser, scopes: string[]): Promise<string> {
  const response = await caller(server.app, user)("POST", "/auth/tokens", { name: `scoped ${scopes.join(" ")}`, scopes });
  assert.equal(response.statusCode, 201, response.body);
  const body = response.json() as { token: string; scopes: string[] };
  assert.match(body.token, /^rmp_/);
  return body.token;
}

async function notesOf(user: TestUser): Promise<NoteOut[]> {
  const response = await caller(server.app, user)("GET", "/api/notes?limit=100");
  assert.equal(response.statusCode, 200, response.body);
  return (response.json() as { items: NoteOut[] }).items;
}

function assertInsufficientScope(response: Awaited<ReturnType<typeof send>>, message: string): void {
  assertProblem(response, 403, message);
  const challenge = String(response.headers["www-authenticate"] ?? "");
  assert.match(challenge, /^Bearer\b/, message);
  assert.match(challenge, /error="insufficient_scope"/, message);
}

before(async () => {
  server = await startServer();
  owner = await createUser(server.app, "owner", ip());
  other = await createUser(server.app, "other", ip());
  const mine = await caller(server.app, owner)("POST", "/api/notes", { title: "owner's note" });
  assert.equal(mine.statusCode, 201, mine.body);
  ownNote = mine.json() as NoteOut;
  const theirs = await caller(server.app, other)("POST", "/api/notes", { title: "other's note" });
  assert.equal(theirs.statusCode, 201, theirs.body);
  othersNote = theirs.json() as NoteOut;
});

after(async () => {
  await server.close();
});

describe("API token scoped notes:read", () => {
  let token: string;

  before(async () => {
    token = await mintToken(owner, ["notes:read"]);
  });

  it("lists and reads the owner's notes, with Bearer and with Token", async () => {
    for (const scheme of ["Bearer", "Token"]) {
      const list = await send(server.app, owner.ip, token, "GET", "/api/notes", undefined, scheme);
      assert.equal(list.statusCode, 200, `${scheme}: ${list.body}`);
      assert.ok((list.json() as { items: NoteOut[] }).items.some((n) => n.id === ownNote.id));
      const read = await send(server.app, owner.ip, token, "GET", `/api/notes/${ownNote.id}`, undefined, scheme);
      assert.equal(read.statusCode, 200, `${scheme}: ${read.body}`);
      assert.equal((read.json() as NoteOut).id, ownNote.id);
    }
  });

  it("POST /api/notes is 403 with WWW-Authenticate insufficient_scope, and nothing is created", async () => {
    const before = await notesOf(owner);
    const response = await send(server.app, owner.ip, token, "POST", "/api/notes", { title: "via read-only token" });
    assertInsufficientScope(response, "POST /api/notes");
    assert.match(String(response.headers["www-authenticate"]), /scope="notes:write"/);
    assert.deepEqual(await notesOf(owner), before);
  });

  it("PATCH and DELETE of the owner's own note are 403 insufficient_scope, and the note is unchanged", async () => {
    assertInsufficientScope(await send(server.app, owner.ip, token, "PATCH", `/api/notes/${ownNote.id}`, { title: "changed" }), "PATCH");
    assertInsufficientScope(await send(server.app, owner.ip, token, "DELETE", `/api/notes/${ownNote.id}`), "DELETE");
    const back = await caller(server.app, owner)("GET", `/api/notes/${ownNote.id}`);
    assert.equal(back.statusCode, 200, back.body);
    assert.deepEqual(back.json(), ownNote);
  });

  it("the owner's bearer access token can create (the refusal is the token's scope, not the owner)", async () => {
    const response = await caller(server.app, owner)("POST", "/api/notes", { title: "via access token" });
    assert.equal(response.statusCode, 201, response.body);
  });

  it("still cannot read someone else's note (404)", async () => {
    assertProblem(await send(server.app, owner.ip, token, "GET", `/api/notes/${othersNote.id}`), 404);
  });

  it("cannot manage tokens: listing is 403 insufficient_scope, minting is refused", async () => {
    assertInsufficientScope(await send(server.app, owner.ip, token, "GET", "/auth/tokens"), "GET /auth/tokens");
    const mint = await send(server.app, owner.ip, token, "POST", "/auth/tokens", { name: "escalate", scopes: ["*"] });
    assert.ok(mint.statusCode === 401 || mint.statusCode === 403, mint.body);
    const list = await caller(server.app, owner)("GET", "/auth/tokens");
    assert.equal(list.statusCode, 200, list.body);
    assert.ok(!(list.json() as { name: string }[]).some((t) => t.name === "escalate"), "no token was minted");
  });
});

describe("scopes never widen", () => {
  it("a `*` token of a plain user is 403 (not insufficient_scope) on admin routes", async () => {
    const token = await mintToken(owner, ["*"]);
    for (const [method, url] of [
      ["GET", "/admin/users"],
      ["GET", "/admin/roles"],
      ["GET", "/admin/audit"],
    ] as const) {
      const response = await send(server.app, owner.ip, token, method, url);
      assertProblem(response, 403, `${method} ${url}`);
      assert.doesNotMatch(String(response.headers["www-authenticate"] ?? ""), /insufficient_scope/, "a wider token would not help");
    }
    assert.equal((await send(server.app, owner.ip, token, "POST", "/api/notes", { title: "star token" })).statusCode, 201, "but can do what the owner can");
  });

  it("a `notes:read:any` scope does not let a plain user read someone else's note", async () => {
    const token = await mintToken(owner, ["notes:read", "notes:read:any"]);
    assertProblem(await send(server.app, owner.ip, token, "GET", `/api/notes/${othersNote.id}`), 404);
    const list = await send(server.app, owner.ip, token, "GET", "/api/notes?limit=100");
    assert.equal(list.statusCode, 200, list.body);
    assert.ok((list.json() as { items: NoteOut[] }).items.every((n) => n.owner_id === owner.id));
  });

  it("a token whose scopes exclude what the route needs gets insufficient_scope; its effective permissions are the intersection", async () => {
    const token = await mintToken(owner, ["profile:read"]);
    const response = await send(server.app, owner.ip, token, "GET", "/api/notes");
    assertInsufficientScope(response, "GET /api/notes with profile:read");
    const me = await send(server.app, owner.ip, token, "GET", "/auth/me");
    assert.equal(me.statusCode, 200, me.body);
    assert.deepEqual((me.json() as { permissions: string[] }).permissions, ["profile:read"], "effective permissions are the intersection");
  });

  it("a revoked token stops working at once", async () => {
    const created = await caller(server.app, owner)("POST", "/auth/tokens", { name: "short-lived", scopes: ["notes:read"] });
    assert.equal(created.statusCode, 201, created.body);
    const { id, token } = created.json() as { id: string; token: string };
    assert.equal((await send(server.app, owner.ip, token, "GET", "/api/notes")).statusCode, 200);
    assert.equal((await caller(server.app, owner)("DELETE", `/auth/tokens/${id}`)).statusCode, 204);
    assertProblem(await send(server.app, owner.ip, token, "GET", "/api/notes"), 401);
  });

  it("another user cannot revoke the owner's token (404) and it keeps working", async () => {
    const created = await caller(server.app, owner)("POST", "/auth/tokens", { name: "mine", scopes: ["notes:read"] });
    assert.equal(created.statusCode, 201, created.body);
    const { id, token } = created.json() as { id: string; token: string };
    assertProblem(await caller(server.app, other)("DELETE", `/auth/tokens/${id}`), 404);
    assert.equal((await send(server.app, owner.ip, token, "GET", "/api/notes")).statusCode, 200);
  });
});
