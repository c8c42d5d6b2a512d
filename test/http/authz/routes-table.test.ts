/**
 * `rampart routes`: the route table of the reference server, who may call each route. Checked on the
 * formatted table directly (`formatRouteTable(app.rampartRoutes())`) and through the real CLI.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { formatRouteTable, type RouteEntry } from "../../../src/http/route-security.ts";
import { type AuthzServer, startServer } from "../../support/authz.ts";
import { spawnCli } from "../../support/cli.ts";


/** The cells of the table line for `METHOD PATH`, split on the two-space column gap. */
function row(table: string, method: string, path: string): string[] | undefined {
  return table
    .split("\n")
    .map((line) => line.split(/ {2,}/))
    .find((cells) => cells[0] === method && cells[1] === path);
}

function assertTable(table: string): void {
  assert.match(table.split("\n")[0] ?? "", /^METHOD\s+PATH\s+AUTH\s+PERMISSIONS/);
  const listNotes = row(table, "GET", "/api/notes");
  assert.ok(listNotes, `GET /api/notes is listed:\n${table}`);
  assert.equal(listNotes[3], "notes:read");
  assert.match(listNotes[2] ?? "", /bearer/);
  assert.equal(row(table, "POST", "/api/notes")?.[3], "notes:write");
  const health = row(table, "GET", "/healthz");
  assert.ok(health, "GET /healthz is listed");
  assert.equal(health[2], "public");
  assert.equal(health[3], "-");
  assert.equal(row(table, "PATCH", "/admin/users/:id")?.[3], "users:admin");
  assert.equal(row(table, "GET", "/admin/audit")?.[3], "audit:read");
  assert.equal(row(table, "GET", "/auth/me")?.[3], "-", "authenticated but no permission");
  assert.notEqual(row(table, "GET", "/auth/me")?.[2], "public");
  assert.equal(row(table, "HEAD", "/api/notes"), undefined, "HEAD twins are not repeated");
}

describe("the route table", () => {
  let server: AuthzServer;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    await server.close();
  });

  it("formatRouteTable(app.rampartRoutes()) shows each route's auth and permissions", () => {
    assertTable(formatRouteTable(server.app.rampartRoutes()));
  });

  it("every non-public route of the reference server is authenticated, and the only public ones are the expected ones", () => {
    const entries: RouteEntry[] = server.app.rampartRoutes();
    const publicRoutes = entries
      .filter((e) => e.auth === "public" && !e.url.startsWith("/docs") && e.method !== "OPTIONS")
      .map((e) => `${e.method} ${e.url}`)
      .sort();
    assert.deepEqual(publicRoutes, [
      "GET /.well-known/jwks.json",
      "GET /.well-known/oauth-authorization-server",
      // The console's static files: the page signs in through the API like any other client.
      "GET /console",
      "GET /console/",
      "GET /console/assets/console-style.css",
      "GET /console/assets/console.js",
      "GET /healthz",
      "GET /openapi.json",
      "GET /readyz",
      "POST /auth/login",
      "POST /auth/mfa/verify",
      "POST /auth/refresh",
      "POST /auth/register",
      "POST /auth/webauthn/login/options",
      "POST /auth/webauthn/login/verify",
      // The client authenticates in the handler (HTTP Basic or client_secret_post).
      "POST /oauth/introspect",
      "POST /oauth/revoke",
      "POST /oauth/token",
    ]);
    for (const entry of entries.filter((e) => e.url.startsWith("/admin") || e.url.startsWith("/api"))) {
      assert.equal(entry.auth, "required", `${entry.method} ${entry.url}`);
      assert.ok(entry.permissions.length > 0, `${entry.method} ${entry.url} requires a permission`);
    }
  });
});


describe("rampart routes (the CLI)", () => {
  it(
    "prints /api/notes with notes:read and /healthz as public",
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "rampart-authz-cli-"));
      const run = await spawnCli(dataDir, ["routes"]);
      assert.equal(run.status, 0, `exit ${run.status}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
      assertTable(run.stdout.trimEnd());
    },
  );
});
