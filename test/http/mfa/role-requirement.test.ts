/**
 * A role that requires MFA (`PUT /admin/roles/{name}` with `mfa: "required"`): its users without a
 * confirmed factor get no access token by any path (password login → 403 enrolment_required, refresh
 * → 403); once they enrol, the normal two-step login works.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertProblem, bearer, type IdentityApp, login, openStore, PASSWORD, refresh, register, signUp, startIdentityApp } from "../../support/identity.ts";
import { codeAt, enrolTotp, passwordStep, verify } from "./support.ts";

const IP = "10.32.0.1";
let t: IdentityApp;
let adminToken: string;

before(async () => {
  t = await startIdentityApp();
  const created = await register(t.app, "boss@example.com", PASSWORD, IP);
  const { repos, close } = await openStore(t.dataDir);
  await repos.users.setRoles(created.json().id, ["admin"]);
  await close();
  adminToken = (await login(t.app, "boss@example.com", PASSWORD, IP)).json().access_token;
});
after(async () => {
  await t.close();
});

const putRole = (name: string, body: Record<string, unknown>) =>
  t.app.inject({ method: "PUT", url: `/admin/roles/${name}`, remoteAddress: IP, headers: bearer(adminToken), payload: body });

describe("a role that requires a second factor", () => {
  it("is set and shown through the admin API; a permissions-only update keeps it", async () => {
    const set = await putRole("finance", { permissions: ["notes:read"], mfa: "required" });
    assert.equal(set.statusCode, 200, set.body);
    assert.equal(set.json().mfa, "required");
    assert.equal((await putRole("finance", { permissions: ["notes:read", "notes:write"] })).json().mfa, "required");
    const roles = (await t.app.inject({ method: "GET", url: "/admin/roles", remoteAddress: IP, headers: bearer(adminToken) })).json() as { name: string; mfa: unknown }[];
    assert.equal(roles.find((r) => r.name === "finance")?.mfa, "required");
    assert.equal(roles.find((r) => r.name === "user")?.mfa, null);
    assertProblem(await putRole("finance", { permissions: [], mfa: "sometimes" }), 400);
  });

  it("blocks a user without a factor from every token, and lets them in with one", async () => {
    await putRole("auditors", { permissions: ["notes:read"] });
    const { id, tokens } = await signUp(t.app, "clerk@example.com", IP);
    const assign = await t.app.inject({ method: "PATCH", url: `/admin/users/${id}`, remoteAddress: IP, headers: bearer(adminToken), payload: { roles: ["user", "auditors"] } });
    assert.equal(assign.statusCode, 200, assign.body);
    // Enrolled but not confirmed yet when the requirement lands.
    await putRole("auditors", { permissions: ["notes:read"], mfa: "required" });

    const refused = await login(t.app, "clerk@example.com", PASSWORD, IP);
    const problem = assertProblem(refused, 403);
    assert.equal(problem.enrolment_required, true);
    assert.match(String(problem.detail), /second factor/);
    assert.equal(refused.headers["set-cookie"], undefined);
    assertProblem(await refresh(t.app, tokens.refresh_token, IP), 403);

    // The still-valid access token of the old session is the way to enrol (the documented rollout).
    const { secret } = await enrolTotp(t.app, tokens.access_token, IP);
    const mfaToken = await passwordStep(t.app, "clerk@example.com", IP);
    const done = await verify(t.app, { mfa_token: mfaToken, code: codeAt(secret) }, IP);
    assert.equal(done.statusCode, 200, done.body);
    assert.equal((await refresh(t.app, done.json().refresh_token, IP)).statusCode, 200);
  });

  it("does not touch roles without the requirement", async () => {
    await signUp(t.app, "plain@example.com", IP);
  });
});
