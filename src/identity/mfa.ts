/**
 * Second factors: TOTP enrolment, recovery codes, and the second step of a login (`mfa_token`).
 *
 * Seeds at rest. A TOTP seed must be readable to check codes, so it is sealed (AES-256-GCM, bound to
 * the user id) under a key derived with HKDF from an installation secret: 256 random bits generated on
 * first start into its own table (`installation_secrets`), shared by every instance on the database and
 * untouched by signing-key rotation (`rampart keys rotate` must not make seeds unreadable). Threat model:
 * this protects against leaks of the factor rows alone (a table export or backup slice, an injection
 * reading one table, support tooling that shows rows, logs of rows); it does NOT protect against
 * someone who reads the whole database, who also holds the signing keys and so owns the installation
 * anyway. Moving the installation secret out of the database (KMS, env) is the next step if that matters.
 *
 * A role that requires MFA (`PUT /admin/roles/{name}` with `mfa: "required"`). Its users get no access
 * token (password login, `/auth/mfa/verify` or refresh) until they hold a confirmed factor; a password
 * login answers `403` with `enrolment_required: true`. Enrolment needs a session, so the rollout is what
 * GitHub and Google Workspace do: announce, let users enrol (`POST /auth/mfa/totp` from their normal
 * session), then flip the role to `required`. A user who missed it (or a new hire) is helped by an admin,
 * who grants the role only after the user enrolled, or moves them to a role without the requirement
 * for a moment. We chose this over a half-authenticated "enrol-only" token: fewer paths that yield
 * anything before the factor, and no new credential kind for the pipeline to understand.
 *
 * Cookie sessions through MFA: `?session=cookie` on the login is remembered in the `mfa_token`'s row;
 * `POST /auth/mfa/verify?session=cookie` asks for it too. Either one gives the cookie answer.
 */
import { randomBytes } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { RampartError } from "../core/errors.ts";
import {
  base32Encode,
  createSecretBox,
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  otpauthUri,
  type SecretBox,
  verifyTotp,
} from "../core/mfa/index.ts";
import { generateRefreshToken, hashRefreshToken } from "../core/tokens/index.ts";
import type { User } from "../store/index.ts";
import { audit } from "./audit.ts";
import { refuseThrottled } from "./throttled.ts";
import type { IdentityContext } from "./context.ts";

export const MFA_TOKEN_TTL_SECONDS = 300;
const ISSUER = "Rampart";
const INSTALLATION_SECRET = "mfa-seal-v1";

export type MfaMethod = "totp" | "recovery_code";

export interface MfaChallengeAnswer {
  mfa_required: true;
  mfa_token: string;
  methods: MfaMethod[];
}

export interface SecondFactors {
  /** What `GET /auth/me` shows. */
  status(userId: string): Promise<{ totp: boolean; recovery_codes_remaining: number }>;
  /**
   * After a right password: undefined when the user may get tokens now, else the challenge answer.
   * @throws RAMPART_ERR_FORBIDDEN when a role of the user requires a factor the user does not have.
   */
  afterPassword(request: FastifyRequest, user: User, cookie: boolean): Promise<MfaChallengeAnswer | undefined>;
  startTotp(request: FastifyRequest, user: { id: string; email: string }): Promise<{ secret: string; otpauth_uri: string }>;
  confirmTotp(request: FastifyRequest, user: { id: string; email: string }, code: string): Promise<string[]>;
  /** Checks a TOTP code of a signed-in user (throttled like a password). @throws on a wrong code. */
  checkCode(request: FastifyRequest, user: { id: string; email: string }, code: string): Promise<void>;
  removeTotp(request: FastifyRequest, userId: string): Promise<void>;
  regenerateRecoveryCodes(request: FastifyRequest, userId: string): Promise<string[]>;
  /** The second step of a login: the user and whether a cookie session was asked for. */
  verify(request: FastifyRequest, token: string, proof: { code?: string; recoveryCode?: string }): Promise<{ user: User; cookie: boolean }>;
}

export function createSecondFactors(identity: IdentityContext): SecondFactors {
  const { repos } = identity;
  let box: Promise<SecretBox> | undefined;
  const sealer = () => {
    box ??= repos.installationSecrets
      .getOrCreate(INSTALLATION_SECRET, () => randomBytes(32).toString("base64url"))
      .then((secret) => createSecretBox(Buffer.from(secret, "base64url"), "totp-seed"));
    return box;
  };
  const aad = (userId: string) => `totp:${userId}`;

  async function seedOf(userId: string, confirmed: boolean): Promise<{ seed: Buffer; lastStep: number } | undefined> {
    const factor = await repos.secondFactors.getTotp(userId);
    if (!factor || (factor.confirmedAt !== null) !== confirmed) return undefined;
    return { seed: (await sealer()).open(factor.secretSealed, aad(userId)), lastStep: factor.lastStep ?? -1 };
  }

  async function gate(request: FastifyRequest, email: string) {
    const result = await identity.throttle.check(email, request.rampart.client.ip);
    if (result.allowed) return;
    await refuseThrottled(identity, request, {
      retryAfterMs: result.retryAfterMs,
      event: { type: "login.throttled", details: { scope: result.scope, step: "mfa" } },
    });
  }

  async function failed(request: FastifyRequest, user: { id: string; email: string }, method: MfaMethod): Promise<never> {
    identity.telemetry.loginFailure("mfa");
    await identity.throttle.recordFailure(user.email, request.rampart.client.ip);
    await audit(identity, request, { type: "mfa.failure", actorId: user.id, subject: user.id, details: { method } });
    throw new RampartError("RAMPART_ERR_INVALID_CREDENTIALS", { detail: "The code is incorrect, expired or already used." });
  }

  /** A TOTP code, accepted once: the matched step must be above the last accepted one (atomically). */
  async function acceptTotp(userId: string, code: string): Promise<boolean> {
    const factor = await seedOf(userId, true);
    if (!factor) return false;
    const step = verifyTotp(factor.seed, code, Date.now(), factor.lastStep);
    return step !== undefined && (await repos.secondFactors.acceptStep(userId, step));
  }

  return {
    async status(userId) {
      const factor = await repos.secondFactors.getTotp(userId);
      const totp = factor?.confirmedAt != null;
      return { totp, recovery_codes_remaining: totp ? await repos.secondFactors.remainingRecoveryCodes(userId) : 0 };
    },

    async afterPassword(request, user, cookie) {
      const factor = await repos.secondFactors.getTotp(user.id);
      if (factor?.confirmedAt == null) {
        if (await secondFactorRequired(identity, user.roles)) {
          // A passkey is a second factor too, but not one this password step can ask for.
          if ((await repos.passkeys.countForUser(user.id)) > 0) {
            await audit(identity, request, { type: "mfa.passkey_required", actorId: user.id, subject: user.id });
            throw passkeyRequired();
          }
          await audit(identity, request, { type: "mfa.enrolment_required", actorId: user.id, subject: user.id });
          throw enrolmentRequired();
        }
        return undefined;
      }
      const { token, tokenHash } = generateRefreshToken();
      await repos.mfaChallenges.insert({
        tokenHash,
        userId: user.id,
        clientIp: request.rampart.client.ip,
        cookieSession: cookie,
        expiresAt: new Date(Date.now() + MFA_TOKEN_TTL_SECONDS * 1000),
      });
      return { mfa_required: true, mfa_token: token, methods: ["totp", "recovery_code"] };
    },

    async startTotp(request, user) {
      const existing = await repos.secondFactors.getTotp(user.id);
      if (existing?.confirmedAt != null) {
        // Otherwise a stolen session could swap the seed and so switch the factor off without a code.
        throw new RampartError("RAMPART_ERR_CONFLICT", { detail: "TOTP is already active; remove it first (DELETE /auth/mfa/totp with a code)." });
      }
      const seed = generateTotpSecret();
      await repos.secondFactors.startTotp(user.id, (await sealer()).seal(seed, aad(user.id)));
      await audit(identity, request, { type: "mfa.totp.enrolment_started", subject: user.id });
      const secret = base32Encode(seed);
      return { secret, otpauth_uri: otpauthUri({ issuer: ISSUER, account: user.email, secret }) };
    },

    async confirmTotp(request, user, code) {
      await gate(request, user.email);
      const pending = await seedOf(user.id, false);
      if (!pending) throw new RampartError("RAMPART_ERR_CONFLICT", { detail: "No pending TOTP enrolment: start one with POST /auth/mfa/totp." });
      const step = verifyTotp(pending.seed, code, Date.now(), pending.lastStep);
      const codes = generateRecoveryCodes();
      const ok = step !== undefined && (await repos.secondFactors.confirmTotp(user.id, step, codes.map(hashRecoveryCode)));
      if (!ok) return failed(request, user, "totp");
      await identity.throttle.recordSuccess(user.email, request.rampart.client.ip);
      await audit(identity, request, { type: "mfa.totp.enrolled", subject: user.id });
      return codes;
    },

    async checkCode(request, user, code) {
      await gate(request, user.email);
      if (!(await acceptTotp(user.id, code))) return failed(request, user, "totp");
      await identity.throttle.recordSuccess(user.email, request.rampart.client.ip);
    },

    async removeTotp(request, userId) {
      await repos.secondFactors.removeTotp(userId);
      await repos.mfaChallenges.deleteForUser(userId);
      await audit(identity, request, { type: "mfa.totp.removed", subject: userId });
    },

    async regenerateRecoveryCodes(request, userId) {
      const codes = generateRecoveryCodes();
      await repos.secondFactors.replaceRecoveryCodes(userId, codes.map(hashRecoveryCode));
      await audit(identity, request, { type: "mfa.recovery_codes.regenerated", subject: userId });
      return codes;
    },

    async verify(request, token, proof) {
      const record = await repos.mfaChallenges.findByHash(hashRefreshToken(token));
      const usable = record && !record.consumedAt && record.expiresAt.getTime() > Date.now();
      if (!usable || record.clientIp !== request.rampart.client.ip) {
        const reason = !record ? "unknown mfa_token" : !usable ? "mfa_token spent or expired" : "mfa_token from another client";
        throw new RampartError("RAMPART_ERR_INVALID_TOKEN", { detail: "The mfa_token is invalid, expired or already used; log in again.", reason });
      }
      const user = await repos.users.findById(record.userId);
      if (!user || user.disabled) throw new RampartError("RAMPART_ERR_INVALID_TOKEN", { detail: "The mfa_token is invalid, expired or already used; log in again.", reason: "user gone or disabled" });
      await gate(request, user.email);
      const method: MfaMethod = proof.code !== undefined ? "totp" : "recovery_code";
      const ok =
        method === "totp"
          ? await acceptTotp(user.id, proof.code ?? "")
          : (await seedOf(user.id, true)) !== undefined && (await repos.secondFactors.useRecoveryCode(user.id, hashRecoveryCode(proof.recoveryCode ?? "")));
      // A wrong code leaves the mfa_token alive (else one guess per password); the throttle bounds guesses.
      if (!ok) return failed(request, user, method);
      if (!(await repos.mfaChallenges.consume(record.id))) {
        throw new RampartError("RAMPART_ERR_INVALID_TOKEN", { detail: "The mfa_token is invalid, expired or already used; log in again.", reason: "mfa_token spent concurrently" });
      }
      await identity.throttle.recordSuccess(user.email, request.rampart.client.ip);
      if (method === "recovery_code") {
        const remaining = await repos.secondFactors.remainingRecoveryCodes(user.id);
        await audit(identity, request, { type: "mfa.recovery_code.used", actorId: user.id, subject: user.id, details: { remaining } });
      }
      await audit(identity, request, { type: "mfa.success", actorId: user.id, subject: user.id, details: { method } });
      return { user, cookie: record.cookieSession };
    },
  };
}

function enrolmentRequired(): RampartError {
  return new RampartError("RAMPART_ERR_FORBIDDEN", {
    detail:
      "A role you hold requires a second factor, and you have none yet. Enrol one (POST /auth/mfa/totp) from a session that does not need it, or ask an administrator.",
    reason: "role requires MFA, user has no confirmed factor",
    extensions: { enrolment_required: true },
  });
}

function passkeyRequired(): RampartError {
  return new RampartError("RAMPART_ERR_FORBIDDEN", {
    detail: "A role you hold requires a second factor: sign in with your passkey (POST /auth/webauthn/login/options, then /auth/webauthn/login/verify).",
    reason: "role requires MFA, user has a passkey and no TOTP",
    extensions: { passkey_required: true },
  });
}

/**
 * For token issuance outside the login routes (refresh): a role requiring MFA and no second factor →
 * 403. A confirmed TOTP or a registered passkey counts: a passkey login satisfies the role, so its
 * session must survive its refreshes.
 */
export async function assertSecondFactorIfRequired(identity: IdentityContext, user: { id: string; roles: readonly string[] }): Promise<void> {
  if (!(await secondFactorRequired(identity, user.roles))) return;
  const factor = await identity.repos.secondFactors.getTotp(user.id);
  if (factor?.confirmedAt != null) return;
  if ((await identity.repos.passkeys.countForUser(user.id)) > 0) return;
  throw enrolmentRequired();
}

/** Whether one of `roles` is marked `mfa: "required"`. */
async function secondFactorRequired(identity: IdentityContext, roles: readonly string[]): Promise<boolean> {
  if (roles.length === 0) return false;
  return (await identity.repos.roles.list()).some((role) => role.mfa === "required" && roles.includes(role.name));
}
