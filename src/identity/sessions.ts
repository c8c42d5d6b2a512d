/**
 * The token lifecycle. A login opens a session (a refresh-token family, `sid` in every access token);
 * each refresh spends the presented token and issues the next one; presenting a spent token is theft
 * (RFC 9700 §4.14.2): the whole family is revoked. Revoking a session also kills the access tokens
 * carrying its `sid`, at once, through the revocation list.
 */
import { randomUUID } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { generateRefreshToken, hashRefreshToken, isRefreshTokenShaped } from "../core/tokens/index.ts";
import { audit } from "./audit.ts";
import type { IdentityContext } from "./context.ts";
import { invalidToken } from "./authenticator.ts";
import { assertSecondFactorIfRequired } from "./mfa.ts";

export interface IssuedSession {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  sessionId: string;
}

export async function openSession(identity: IdentityContext, user: { id: string; roles: readonly string[] }, familyId: string = randomUUID()) {
  const { token: refreshToken, tokenHash } = generateRefreshToken();
  await identity.repos.refreshTokens.insert({
    familyId,
    userId: user.id,
    tokenHash,
    expiresAt: new Date(Date.now() + identity.config.tokens.refreshTtlSeconds * 1000),
  });
  const access = await identity.issuer.issue({ sub: user.id, roles: [...user.roles], sid: familyId });
  return {
    access_token: access.token,
    token_type: "Bearer" as const,
    expires_in: access.expiresIn,
    refresh_token: refreshToken,
    sessionId: familyId,
  } satisfies IssuedSession;
}

export async function refreshSession(identity: IdentityContext, request: FastifyRequest, presented: string): Promise<IssuedSession> {
  if (!isRefreshTokenShaped(presented)) throw invalidToken("malformed refresh token", "The refresh token is invalid, expired or revoked.");
  const record = await identity.repos.refreshTokens.findByHash(hashRefreshToken(presented));
  if (!record) throw invalidToken("unknown refresh token", "The refresh token is invalid, expired or revoked.");
  if (record.spentAt && !record.revokedAt) {
    identity.telemetry.refreshReuseDetected();
    await revokeSessions(identity, record.userId, [record.familyId]);
    await audit(identity, request, {
      type: "refresh.reuse_detected",
      actorId: record.userId,
      subject: record.familyId,
      details: { family: record.familyId },
    });
    throw invalidToken("refresh token reuse: family revoked", "The refresh token is invalid, expired or revoked.");
  }
  const user = await identity.users.get(record.userId);
  if (!user || user.disabled) throw invalidToken("user disabled", "The refresh token is invalid, expired or revoked.");
  // A role that now requires MFA ends refreshes of sessions whose user still has no factor.
  await assertSecondFactorIfRequired(identity, user);
  // Spending the presented token and storing its successor happen together or not at all.
  const { token: refreshToken, tokenHash } = generateRefreshToken();
  const spent = await identity.repos.refreshTokens.rotate(record.id, {
    familyId: record.familyId,
    userId: user.id,
    tokenHash,
    expiresAt: new Date(Date.now() + identity.config.tokens.refreshTtlSeconds * 1000),
  });
  if (!spent) {
    // Revoked, expired, or a concurrent refresh won the race with the same token: treat as reuse.
    if (!record.revokedAt && record.expiresAt.getTime() > Date.now()) {
      identity.telemetry.refreshReuseDetected();
      await revokeSessions(identity, record.userId, [record.familyId]);
      await audit(identity, request, { type: "refresh.reuse_detected", actorId: record.userId, subject: record.familyId });
    }
    throw invalidToken("refresh token spent, revoked or expired", "The refresh token is invalid, expired or revoked.");
  }
  const access = await identity.issuer.issue({ sub: user.id, roles: [...user.roles], sid: record.familyId });
  const session = {
    access_token: access.token,
    token_type: "Bearer" as const,
    expires_in: access.expiresIn,
    refresh_token: refreshToken,
    sessionId: record.familyId,
  } satisfies IssuedSession;
  await audit(identity, request, { type: "refresh.success", actorId: user.id, subject: record.familyId });
  return session;
}

/** Revokes refresh families and, through their `sid`, every access token born from them. */
export async function revokeSessions(identity: IdentityContext, userId: string, familyIds: readonly string[]): Promise<void> {
  const until = new Date(Date.now() + (identity.config.tokens.accessTtlSeconds + identity.config.tokens.clockToleranceSeconds) * 1000);
  for (const familyId of familyIds) {
    await recordThenBroadcast(
      async () => {
        await identity.repos.refreshTokens.revokeFamily(familyId);
        await identity.repos.revocations.revokeSession(familyId, userId, until);
      },
      () => identity.revocations.revokeSid(familyId),
    );
  }
  await identity.flushBroadcast();
}

/**
 * Storage first, then the broadcast: an instance that missed the broadcast (not subscribed) and catches
 * up from storage afterwards then always finds the row. The local revocation and broadcast happen even
 * when the write fails (storage down): best effort now, and the caller still gets the error.
 */
async function recordThenBroadcast(record: () => Promise<void>, revokeEverywhere: () => void): Promise<void> {
  try {
    await record();
  } finally {
    revokeEverywhere();
  }
}

/** Every session of the user (optionally but one) ends now. */
export async function revokeAllSessions(identity: IdentityContext, userId: string, exceptFamilyId?: string): Promise<string[]> {
  const families = (await identity.repos.refreshTokens.liveFamiliesOf(userId)).filter((f) => f !== exceptFamilyId);
  await revokeSessions(identity, userId, families);
  return families;
}

/** One access token dies now, until it would have expired anyway. */
export async function revokeAccessToken(identity: IdentityContext, userId: string, jti: string, exp: number): Promise<void> {
  await recordThenBroadcast(
    () => identity.repos.revocations.revokeJti(jti, userId, new Date(exp * 1000)),
    () => identity.revocations.revokeJti(jti, exp),
  );
  await identity.flushBroadcast();
}
