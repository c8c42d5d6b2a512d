/**
 * Passkeys end to end with a software authenticator (test/support/software-authenticator.ts): real
 * ES256 keys, real CBOR and DER, nothing of @simplewebauthn mocked. Each attack is written as a
 * comment above its test and must end in a refusal.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { setRolesInStore } from "../../support/authz.ts";
import {
  assertProblem,
  bearer,
  type IdentityApp,
  me,
  openStore,
  signUp,
  startIdentityApp,
  type TokenPair,
} from "../../support/identity.ts";
import { type AssertionJSON, createSoftwareAuthenticator, flipByte, type SoftwareAuthenticator } from "../../support/software-authenticator.ts";

const IP = "10.13.0.1";

describe("passkeys (WebAuthn)", () => {
  let t: IdentityApp;
  let alice: { id: string; tokens: TokenPair };
  let bob: { id: string; tokens: TokenPair };
  let aliceKey: SoftwareAuthenticator;

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}, ip = IP) =>
    t.app.inject({ method: "POST", url, remoteAddress: ip, headers, payload: payload as Record<string, unknown> });
  const registerOptions = async (accessToken: string) => {
    const response = await post("/auth/webauthn/register/options", {}, bearer(accessToken));
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as { challenge: string; user: { id: string }; excludeCredentials: { id: string }[]; authenticatorSelection: Record<string, string> };
  };
  const registerPasskey = async (accessToken: string, key: SoftwareAuthenticator) => {
    const response = await post("/auth/webauthn/register/verify", { ...key.register(await registerOptions(accessToken)), name: "laptop" }, bearer(accessToken));
    assert.equal(response.statusCode, 201, response.body);
    return response.json() as { id: string; name: string };
  };
  const loginOptions = async (body: Record<string, unknown> = {}, ip = IP) => {
    const response = await post("/auth/webauthn/login/options", body, {}, ip);
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as { challenge: string; allowCredentials?: { id: string }[]; userVerification: string };
  };
  const loginVerify = (assertion: AssertionJSON, query = "", ip = IP) => post(`/auth/webauthn/login/verify${query}`, assertion, {}, ip);
  /** The refusal every failed passkey login gets, whatever failed: its body without the request id. */
  const refusalBody = (response: LightMyRequestResponse) => {
    const body = assertProblem(response, 401);
    assert.match(String(response.headers["www-authenticate"]), /error="invalid_token"/);
    const { requestId: _, instance: __, ...rest } = body;
    return rest;
  };
  const auditTypes = async () => {
    const store = await openStore(t.dataDir);
    try {
      return (await store.repos.audit.query({ limit: 500 })).map((e) => e.type);
    } finally {
      await store.close();
    }
  };

  before(async () => {
    t = await startIdentityApp();
    alice = await signUp(t.app, "passkey-alice@example.com", IP);
    bob = await signUp(t.app, "passkey-bob@example.com", IP);
    aliceKey = createSoftwareAuthenticator();
    await registerPasskey(alice.tokens.access_token, aliceKey);
  });

  after(async () => {
    await t.close();
  });

  it("registration requires a signed-in user", async () => {
    assertProblem(await post("/auth/webauthn/register/options", {}), 401);
    assertProblem(await post("/auth/webauthn/register/verify", createSoftwareAuthenticator().register({ challenge: "AAAA", user: { id: "AAAA" } })), 401);
  });

  it("registration options: attestation none, user verification required, existing passkeys excluded", async () => {
    const options = await registerOptions(alice.tokens.access_token);
    assert.equal((options as unknown as { attestation: string }).attestation, "none");
    assert.equal(options.authenticatorSelection.userVerification, "required");
    assert.equal(options.authenticatorSelection.residentKey, "preferred");
    assert.deepEqual(options.excludeCredentials.map((c) => c.id), [aliceKey.credentialId]);
    assert.equal(Buffer.from(options.challenge, "base64url").length, 32);
  });

  it("stores the credential and /auth/me counts it", async () => {
    const store = await openStore(t.dataDir);
    try {
      const [stored, ...rest] = await store.repos.passkeys.listForUser(alice.id);
      assert.equal(rest.length, 0);
      assert.equal(stored?.id, aliceKey.credentialId);
      assert.equal(stored?.name, "laptop");
      assert.deepEqual(stored?.transports, ["internal"]);
      assert.ok((stored?.publicKey.length ?? 0) > 60, "COSE key stored");
    } finally {
      await store.close();
    }
    assert.equal((await me(t.app, alice.tokens.access_token, IP)).json().passkeys, 1);
    assert.equal((await me(t.app, bob.tokens.access_token, IP)).json().passkeys, 0);
    assert.ok((await auditTypes()).includes("webauthn.registered"));
  });

  it("a discoverable-credential login answers like POST /auth/login", async () => {
    const options = await loginOptions();
    assert.deepEqual(options.allowCredentials ?? [], []);
    assert.equal(options.userVerification, "required");
    const response = await loginVerify(aliceKey.assert(options));
    assert.equal(response.statusCode, 200, response.body);
    const pair = response.json() as TokenPair;
    assert.equal(pair.token_type, "Bearer");
    assert.ok(pair.access_token && pair.refresh_token);
    const who = await me(t.app, pair.access_token, IP);
    assert.equal(who.statusCode, 200, who.body);
    assert.equal(who.json().id, alice.id);
  });

  it("?session=cookie opens a browser session", async () => {
    const response = await loginVerify(aliceKey.assert(await loginOptions()), "?session=cookie");
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(response.json().token_type, "Cookie");
    assert.equal(typeof response.json().csrf_token, "string");
    assert.equal(response.json().access_token, undefined);
    const cookies = response.cookies.map((c) => c.name);
    assert.equal(cookies.length, 3, String(cookies));
  });

  it("login options by email never tell a stranger from a user without passkeys", async () => {
    const known = await loginOptions({ email: "passkey-alice@example.com" });
    assert.deepEqual(known.allowCredentials?.map((c) => c.id), [aliceKey.credentialId]);
    const without = await loginOptions({ email: "passkey-bob@example.com" });
    const unknown = await loginOptions({ email: "nobody-at-all@example.com" });
    const shape = (o: Record<string, unknown>) => ({ ...o, challenge: "x" });
    assert.deepEqual(shape(unknown), shape(without));
  });

  // Attack: a captured assertion altered in transit (signature or signed data) must not verify.
  it("a tampered signature or authenticatorData is refused with the same 401", async () => {
    const good = aliceKey.assert(await loginOptions());
    const badSignature = await loginVerify({ ...good, response: { ...good.response, signature: flipByte(good.response.signature, -1) } });
    const reference = refusalBody(badSignature);
    const other = aliceKey.assert(await loginOptions());
    // Byte 36 is the low byte of the signed counter: any change to the signed bytes breaks the signature.
    const badData = await loginVerify({ ...other, response: { ...other.response, authenticatorData: flipByte(other.response.authenticatorData, 36) } });
    assert.deepEqual(refusalBody(badData), reference);
    const store = await openStore(t.dataDir);
    try {
      const reasons = (await store.repos.audit.query({ type: "login.failure", limit: 500 })).map((e) => e.details.reason);
      assert.equal(reasons.filter((r) => r === "signature invalid").length, 2, String(reasons));
    } finally {
      await store.close();
    }
  });

  // Attack: an unknown credential id must look exactly like a bad signature (no credential probing).
  it("an unknown credential id gets the same 401 body as a bad signature", async () => {
    const stranger = createSoftwareAuthenticator();
    const unknown = refusalBody(await loginVerify(stranger.assert(await loginOptions())));
    const good = aliceKey.assert(await loginOptions());
    const badSignature = refusalBody(await loginVerify({ ...good, response: { ...good.response, signature: flipByte(good.response.signature, 10) } }));
    assert.deepEqual(unknown, badSignature);
  });

  // Attack: phishing — the assertion was made on another site's origin and relayed here.
  it("an assertion made on another origin is refused", async () => {
    refusalBody(await loginVerify(aliceKey.assert(await loginOptions(), { origin: "https://evil.example" })));
    // And for registration.
    const key = createSoftwareAuthenticator();
    const options = await registerOptions(bob.tokens.access_token);
    assertProblem(await post("/auth/webauthn/register/verify", key.register(options, { origin: "https://evil.example" }), bearer(bob.tokens.access_token)), 400);
  });

  // Attack: replay — a login that succeeded once is sent again, with its challenge.
  it("a spent login challenge is refused", async () => {
    const options = await loginOptions();
    const first = await loginVerify(aliceKey.assert(options));
    assert.equal(first.statusCode, 200, first.body);
    // Same challenge, fresh (higher) counter and valid signature: only the challenge is stale.
    refusalBody(await loginVerify(aliceKey.assert(options)));
  });

  // Attack: Bob answers a challenge issued to Alice, to attach his authenticator to… himself with
  // her challenge (or the reverse): a registration challenge belongs to the user it was issued to.
  it("a registration challenge issued to one user cannot register a passkey for another", async () => {
    const forAlice = await registerOptions(alice.tokens.access_token);
    const key = createSoftwareAuthenticator();
    assertProblem(await post("/auth/webauthn/register/verify", key.register(forAlice), bearer(bob.tokens.access_token)), 400);
    assert.equal((await me(t.app, bob.tokens.access_token, IP)).json().passkeys, 0);
    // Bob's attempt did not spend it: Alice still can.
    const response = await post("/auth/webauthn/register/verify", key.register(forAlice), bearer(alice.tokens.access_token));
    assert.equal(response.statusCode, 201, response.body);
    assert.equal((await me(t.app, alice.tokens.access_token, IP)).json().passkeys, 2);
  });

  // Attack: a cloned authenticator — its counter lags behind the original's.
  it("a signature counter that goes backwards is refused and audited", async () => {
    const options = await loginOptions();
    const stale = aliceKey.counter - 1;
    refusalBody(await loginVerify(aliceKey.assert(options, { counter: stale })));
    assert.ok((await auditTypes()).includes("webauthn.counter_regression"));
    // The original authenticator, ahead of the clone, still works.
    aliceKey.counter = stale + 5;
    const ok = await loginVerify(aliceKey.assert(await loginOptions()));
    assert.equal(ok.statusCode, 200, ok.body);
  });

  it("user verification is required", async () => {
    refusalBody(await loginVerify(aliceKey.assert(await loginOptions(), { flags: 0x01 })));
  });

  it("a disabled user is refused with the same 401", async () => {
    const carol = await signUp(t.app, "passkey-carol@example.com", IP);
    const admin = await signUp(t.app, "passkey-admin@example.com", IP);
    await setRolesInStore(t.dataDir, admin.id, ["admin"]);
    const carolKey = createSoftwareAuthenticator();
    await registerPasskey(carol.tokens.access_token, carolKey);
    const patched = await t.app.inject({
      method: "PATCH",
      url: `/admin/users/${carol.id}`,
      remoteAddress: IP,
      headers: bearer(admin.tokens.access_token),
      payload: { disabled: true },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const good = aliceKey.assert(await loginOptions());
    const reference = refusalBody(await loginVerify({ ...good, response: { ...good.response, signature: flipByte(good.response.signature, 10) } }));
    assert.deepEqual(refusalBody(await loginVerify(carolKey.assert(await loginOptions()))), reference);
  });

  it("a role requiring a second factor is satisfied by a passkey: its login and its refreshes work, a password alone does not", async () => {
    const dana = await signUp(t.app, "passkey-dana@example.com", IP);
    const danaKey = createSoftwareAuthenticator();
    await registerPasskey(dana.tokens.access_token, danaKey);
    const store = await openStore(t.dataDir);
    try {
      await store.repos.roles.upsert("vault", ["notes:read"], "required");
      await store.repos.users.setRoles(dana.id, ["user", "vault"]);
    } finally {
      await store.close();
    }
    const byPasskey = await loginVerify(danaKey.assert(await loginOptions({ email: "passkey-dana@example.com" })));
    assert.equal(byPasskey.statusCode, 200, byPasskey.body);
    const refreshed = await post("/auth/refresh", { refresh_token: (byPasskey.json() as TokenPair).refresh_token });
    assert.equal(refreshed.statusCode, 200, `the passkey session survives its refresh: ${refreshed.body}`);
    // The password step cannot ask for a passkey: refused, pointing at the passkey login, no tokens.
    const byPassword = await post("/auth/login", { email: "passkey-dana@example.com", password: "correct horse battery staple" });
    const problem = assertProblem(byPassword, 403);
    assert.equal(problem.passkey_required, true, byPassword.body);
    assert.match(String(problem.detail), /passkey/);
    assert.equal(byPassword.json().access_token, undefined);
    assert.ok((await auditTypes()).includes("mfa.passkey_required"));
  });

  it("failed passkey logins are throttled per client", async () => {
    const ip = "10.13.9.9";
    const stranger = createSoftwareAuthenticator();
    let last: LightMyRequestResponse | undefined;
    for (let i = 0; i < 12; i++) {
      last = await loginVerify(stranger.assert(await loginOptions({}, ip)), "", ip);
      if (last.statusCode === 429) break;
    }
    assert.equal(last?.statusCode, 429, last?.body);
    assert.ok(last?.headers["retry-after"]);
  });
});
