/** Helpers for the second-factor suites: enrol a user in TOTP and compute codes at chosen steps. */
import assert from "node:assert/strict";
import type { FastifyInstance } from "fastify";
import { base32Decode, totp } from "../../../src/core/mfa/index.ts";
import { bearer, login, PASSWORD } from "../../support/identity.ts";

export const STEP_MS = 30_000;

/** The code for the step `offset` steps from now (0: current, -1: previous, 1: next). */
export const codeAt = (secret: string, offset = 0) => totp(base32Decode(secret), Date.now() + offset * STEP_MS);

/**
 * Enrols and confirms TOTP. Confirmation spends the PREVIOUS step (within drift), so the current and
 * the next step stay available to the test.
 */
export async function enrolTotp(app: FastifyInstance, accessToken: string, ip: string) {
  const started = await app.inject({ method: "POST", url: "/auth/mfa/totp", remoteAddress: ip, headers: bearer(accessToken) });
  assert.equal(started.statusCode, 201, started.body);
  const { secret, otpauth_uri } = started.json() as { secret: string; otpauth_uri: string };
  const confirmed = await app.inject({
    method: "POST",
    url: "/auth/mfa/totp/confirm",
    remoteAddress: ip,
    headers: bearer(accessToken),
    payload: { code: codeAt(secret, -1) },
  });
  assert.equal(confirmed.statusCode, 200, confirmed.body);
  return { secret, otpauth_uri, recoveryCodes: (confirmed.json() as { recovery_codes: string[] }).recovery_codes };
}

/** Password step for a user with a factor: asserts the challenge answer and returns the mfa_token. */
export async function passwordStep(app: FastifyInstance, email: string, ip: string, password = PASSWORD): Promise<string> {
  const response = await login(app, email, password, ip);
  assert.equal(response.statusCode, 200, response.body);
  const body = response.json() as Record<string, unknown>;
  assert.equal(body.mfa_required, true, response.body);
  assert.equal(body.access_token, undefined);
  assert.equal(body.refresh_token, undefined);
  assert.equal(response.headers["set-cookie"], undefined, "no cookie before the second factor");
  return body.mfa_token as string;
}

export async function verify(app: FastifyInstance, payload: Record<string, unknown>, ip: string, url = "/auth/mfa/verify") {
  return app.inject({ method: "POST", url, remoteAddress: ip, payload });
}
