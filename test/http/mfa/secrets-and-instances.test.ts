/**
 * Mirrors test/http/identity/secrets-in-logs.test.ts for second factors: a full MFA tour through the real
 * logger (trace level, redaction and all), then no TOTP secret, code, recovery code or mfa_token may
 * appear in a log line, and the seed is stored sealed. Then two instances on one SQLite data dir: an
 * mfa_token issued by A is accepted once by B.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { base32Decode } from "../../../src/core/mfa/index.ts";
import { bearer, login, newDataDir, openStore, PASSWORD, signUp, startIdentityApp } from "../../support/identity.ts";
import { codeAt, enrolTotp, passwordStep, verify } from "./support.ts";

const IP = "10.33.0.1";

describe("second factors: secrets", () => {
  it("never logs the TOTP secret, codes, recovery codes or the mfa_token, and stores the seed sealed", async () => {
    const t = await startIdentityApp({ captureLogs: "trace" });
    try {
      const { id, tokens } = await signUp(t.app, "mfa-logs@example.com", IP);
      const { secret, otpauth_uri, recoveryCodes } = await enrolTotp(t.app, tokens.access_token, IP);
      const secrets = new Map<string, string>([["secret", secret], ["otpauth uri", otpauth_uri]]);
      for (const [i, code] of recoveryCodes.entries()) secrets.set(`recovery code ${i}`, code);

      const mfaToken = await passwordStep(t.app, "mfa-logs@example.com", IP);
      secrets.set("mfa_token", mfaToken);
      await verify(t.app, { mfa_token: mfaToken, code: "000000" }, IP);
      await verify(t.app, { mfa_token: mfaToken, recovery_code: "zzzz-zzzz-zzzz" }, IP);
      const code = codeAt(secret);
      assert.equal((await verify(t.app, { mfa_token: mfaToken, code }, IP)).statusCode, 200);
      const second = await passwordStep(t.app, "mfa-logs@example.com", IP);
      assert.equal((await verify(t.app, { mfa_token: second, recovery_code: recoveryCodes[0] }, IP)).statusCode, 200);
      const regen = await t.app.inject({ method: "POST", url: "/auth/mfa/recovery-codes", remoteAddress: IP, headers: bearer(tokens.access_token), payload: { password: PASSWORD } });
      for (const [i, c] of (regen.json().recovery_codes as string[]).entries()) secrets.set(`new recovery code ${i}`, c);

      const text = t.logs.join("");
      assert.ok(t.logs.length > 10);
      assert.match(text, /mfa\.totp\.enrolled/);
      assert.match(text, /mfa\.recovery_code\.used/);
      assert.match(text, /mfa\.recovery_codes\.regenerated/);
      for (const [name, value] of secrets) assert.equal(text.includes(value), false, `${name} in the logs`);
      assert.equal(text.includes(`"${code}"`), false, "a TOTP code in the logs");

      const { database, repos, close } = await openStore(t.dataDir);
      const row = await database.db.selectFrom("totp_factors").selectAll().where("user_id", "=", id).executeTakeFirstOrThrow();
      const codes = await database.db.selectFrom("recovery_codes").select("code_hash").where("user_id", "=", id).execute();
      const audit = JSON.stringify(await repos.audit.query({ limit: 500 }));
      await close();
      assert.match(row.secret_sealed, /^v1\./);
      assert.equal(row.secret_sealed.includes(secret), false);
      assert.equal(row.secret_sealed.includes(base32Decode(secret).toString("base64url")), false);
      for (const [name, value] of secrets) {
        assert.equal(codes.some((c) => c.code_hash.includes(value)), false, `${name} stored in clear`);
        assert.equal(audit.includes(value), false, `${name} in the audit table`);
      }
    } finally {
      await t.close();
    }
  });
});

describe("second factors: two instances on one database", () => {
  it("accepts an mfa_token issued on A once on B", async () => {
    const dataDir = newDataDir();
    const a = await startIdentityApp({ dataDir });
    const b = await startIdentityApp({ dataDir });
    try {
      const { tokens } = await signUp(a.app, "two@example.com", IP);
      const { secret } = await enrolTotp(a.app, tokens.access_token, IP);
      const mfaToken = await passwordStep(a.app, "two@example.com", IP);
      const onB = await verify(b.app, { mfa_token: mfaToken, code: codeAt(secret) }, IP);
      assert.equal(onB.statusCode, 200, onB.body);
      assert.equal((await verify(a.app, { mfa_token: mfaToken, code: codeAt(secret, 1) }, IP)).statusCode, 401);
      assert.equal((await login(b.app, "two@example.com", PASSWORD, IP)).json().mfa_required, true);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
