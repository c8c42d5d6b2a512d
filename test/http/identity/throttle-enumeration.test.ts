/**
 * Login throttling per (email, client) and account enumeration: the back-off holds even against the
 * right password, is keyed by the normalised email and the client address, and treats unknown emails
 * exactly like known ones; an unknown email still pays a full hash verification (unit check).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyRequest } from "fastify";
import pino from "pino";
import { NO_TELEMETRY } from "../../../src/core/telemetry.ts";
import type { IdentityContext } from "../../../src/identity/context.ts";
import { login as loginFlow } from "../../../src/identity/login.ts";
import { assertProblem, type IdentityApp, login, PASSWORD, register, startIdentityApp } from "../../support/identity.ts";

const WRONG = "definitely not the passphrase";

describe("login throttle over HTTP", () => {
  let t: IdentityApp;
  before(async () => {
    t = await startIdentityApp();
    for (const email of ["throttled@example.com", "neighbour@example.com"]) {
      assert.equal((await register(t.app, email, PASSWORD, "10.16.0.250")).statusCode, 201);
    }
  });
  after(async () => {
    await t.close();
  });

  it("after 5 failures for one email from one client, the next attempt is 429 even with the right password", async () => {
    const ip = "10.16.0.1";
    // Case and space variants share one counter.
    const variants = ["throttled@example.com", "THROTTLED@example.com", " throttled@Example.com", "throttled@example.com ", "Throttled@EXAMPLE.com"];
    for (const email of variants) assertProblem(await login(t.app, email, WRONG, ip), 401, email);

    const response = await login(t.app, "throttled@example.com", PASSWORD, ip);
    const problem = assertProblem(response, 429);
    const retryAfter = Number(response.headers["retry-after"]);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${response.headers["retry-after"]}`);
    assert.equal(typeof problem.policy, "string", "names the violated policy");
    assert.doesNotMatch(response.body, /access_token|refresh_token/);

    // The same email from another client is not locked; another email from this client is not either.
    assert.equal((await login(t.app, "throttled@example.com", PASSWORD, "10.16.0.2")).statusCode, 200);
    assert.equal((await login(t.app, "neighbour@example.com", PASSWORD, ip)).statusCode, 200);
  });

  it("the back-off passes: after Retry-After the right password logs in again", async () => {
    const ip = "10.16.0.4";
    for (let i = 0; i < 5; i++) assertProblem(await login(t.app, "neighbour@example.com", WRONG, ip), 401);
    const refused = await login(t.app, "neighbour@example.com", PASSWORD, ip);
    assertProblem(refused, 429);
    const seconds = Number(refused.headers["retry-after"]);
    assert.ok(seconds >= 1 && seconds <= 2, `the first back-off is short (${seconds} s)`);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + 50));
    assert.equal((await login(t.app, "neighbour@example.com", PASSWORD, ip)).statusCode, 200);
  });

  it(
    "Unicode variants of one email (NFC vs NFD) share one counter, as they share one account",
    async () => {
      const ip = "10.16.0.5";
      const nfc = "jos\u00e9.unicode@example.com";
      const nfd = nfc.normalize("NFD");
      assert.notEqual(nfc, nfd);
      assert.equal((await register(t.app, nfc, PASSWORD, "10.16.0.250")).statusCode, 201);
      // Control: the NFD spelling is the same account.
      assert.equal((await login(t.app, nfd, PASSWORD, "10.16.0.6")).statusCode, 200);
      for (let i = 0; i < 5; i++) assertProblem(await login(t.app, nfc, WRONG, ip), 401);
      assertProblem(await login(t.app, nfc, PASSWORD, ip), 429);
      assertProblem(await login(t.app, nfd, PASSWORD, ip), 429, "the NFD spelling is locked too");
    },
  );

  it("an unknown email is throttled exactly like a known one (no enumeration through the throttle)", async () => {
    const ip = "10.16.0.3";
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 6; i++) {
      known.push((await login(t.app, "neighbour@example.com", WRONG, ip)).statusCode);
      unknown.push((await login(t.app, "ghost@example.com", WRONG, ip)).statusCode);
    }
    assert.deepEqual(known, [401, 401, 401, 401, 401, 429]);
    assert.deepEqual(unknown, known);
  });
});

describe("login flow (unit): the unknown-email path costs a hash verification", () => {
  function fakes(user: Record<string, unknown> | undefined, allowed = true) {
    const calls = { verify: 0, verifyAgainstDummy: 0, recordFailure: 0, recordSuccess: 0 };
    const identity = {
      logger: pino({ level: "silent" }),
      telemetry: NO_TELEMETRY,
      repos: {
        users: { findByEmail: async () => user, setPasswordHash: async () => true },
        audit: { record: async () => {} },
      },
      hasher: {
        verify: async () => {
          calls.verify++;
          return true;
        },
        verifyAgainstDummy: async () => {
          calls.verifyAgainstDummy++;
          return false as const;
        },
        needsRehash: () => false,
        hash: async () => "$argon2id$fake",
      },
      throttle: {
        check: async () => (allowed ? { allowed: true } : { allowed: false, retryAfterMs: 4000, scope: "pair" }),
        recordFailure: async () => {
          calls.recordFailure++;
          return { failures: 1, clientFailures: 1, locked: false, justLocked: false, retryAfterMs: 0 };
        },
        recordSuccess: async () => {
          calls.recordSuccess++;
          return { reset: true };
        },
      },
    } as unknown as IdentityContext;
    const request = { id: "req-1", log: pino({ level: "silent" }), rampart: { client: { ip: "192.0.2.1" } } } as unknown as FastifyRequest;
    return { identity, request, calls };
  }

  it("unknown email: verifyAgainstDummy runs once, then the same 401 as a wrong password, and the failure counts", async () => {
    const { identity, request, calls } = fakes(undefined);
    await assert.rejects(loginFlow(identity, request, "nobody@example.com", PASSWORD), (error: { code?: string }) => error.code === "RAMPART_ERR_INVALID_CREDENTIALS");
    assert.deepEqual(calls, { verify: 0, verifyAgainstDummy: 1, recordFailure: 1, recordSuccess: 0 });
  });

  it("known email: the real hash is verified (control)", async () => {
    const { identity, request, calls } = fakes({ id: "u1", email: "a@example.com", passwordHash: "$argon2id$x", disabled: false, roles: ["user"] });
    await loginFlow(identity, request, "a@example.com", PASSWORD);
    assert.deepEqual(calls, { verify: 1, verifyAgainstDummy: 0, recordFailure: 0, recordSuccess: 1 });
  });

  it("a disabled account with the right password: the same 401, counted as a failure", async () => {
    const { identity, request, calls } = fakes({ id: "u1", email: "a@example.com", passwordHash: "$argon2id$x", disabled: true, roles: ["user"] });
    await assert.rejects(loginFlow(identity, request, "a@example.com", PASSWORD), (error: { code?: string }) => error.code === "RAMPART_ERR_INVALID_CREDENTIALS");
    assert.equal(calls.recordFailure, 1);
    assert.equal(calls.recordSuccess, 0);
  });

  it("while throttled, no hash is computed at all and the refusal is 429 with Retry-After", async () => {
    const { identity, request, calls } = fakes({ id: "u1", email: "a@example.com", passwordHash: "$argon2id$x", disabled: false, roles: ["user"] }, false);
    await assert.rejects(loginFlow(identity, request, "a@example.com", PASSWORD), (error: { code?: string; headers?: Record<string, string> }) => {
      assert.equal(error.code, "RAMPART_ERR_LOGIN_THROTTLED");
      assert.equal(error.headers?.["retry-after"], "4");
      return true;
    });
    assert.deepEqual(calls, { verify: 0, verifyAgainstDummy: 0, recordFailure: 0, recordSuccess: 0 });
  });
});
