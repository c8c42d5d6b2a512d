/**
 * Passkeys (WebAuthn Level 3) over @simplewebauthn/server: the two ceremonies, registration (for a
 * signed-in user) and login (public), each in two steps, options then verify.
 *
 * - Challenges are 32 random bytes, stored hashed with their kind and (registration) their user, and
 *   consumed atomically before anything else is checked: a replayed or foreign challenge never gets
 *   as far as a signature check.
 * - The expected origins and RP ID come from configuration only, never from the request.
 * - User verification is REQUIRED, at registration and at login: a passkey used as the only factor
 *   must prove possession (the key) and the user (PIN or biometric), which makes a passkey login
 *   multi-factor by itself. That is why a passkey login satisfies a role with `mfa: "required"` and
 *   never asks for a second factor.
 * - Every login failure (unknown credential, bad signature, wrong origin, spent challenge, disabled
 *   user, cloned authenticator) gets the same 401 as a wrong password and feeds the login throttle.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { decodeClientDataJSON } from "@simplewebauthn/server/helpers";
import type { FastifyRequest } from "fastify";
import { RampartError } from "../core/errors.ts";
import { BEARER_CHALLENGE } from "../http/stages/authenticate.ts";
import type { Passkey } from "../store/index.ts";
import { audit } from "./audit.ts";
import { refuseThrottled } from "./throttled.ts";
import type { IdentityContext } from "./context.ts";

/** EdDSA, ES256, RS256: offered at registration and accepted at verification, the same list for both. */
const ALGORITHMS = [-8, -7, -257];

/** SHA-256 of the challenge as it travels (base64url): what the challenges table holds. */
const challengeHash = (challenge: string) => createHash("sha256").update(challenge).digest("hex");

async function issueChallenge(identity: IdentityContext, kind: "register" | "login", userId: string | null): Promise<Uint8Array<ArrayBuffer>> {
  const now = Date.now();
  const bytes = new Uint8Array(randomBytes(32));
  // Expired challenges would only pile up: each issuance sweeps them (indexed on expires_at).
  await identity.repos.webauthnChallenges.purgeExpired(new Date(now));
  await identity.repos.webauthnChallenges.insert({
    challengeHash: challengeHash(Buffer.from(bytes).toString("base64url")),
    kind,
    userId,
    expiresAt: new Date(now + identity.config.webauthn.challengeTtlSeconds * 1000),
  });
  return bytes;
}

/** The challenge inside clientDataJSON, or undefined when it is not decodable. */
function challengeOf(clientDataJSON: string): string | undefined {
  try {
    const { challenge } = decodeClientDataJSON(clientDataJSON);
    return typeof challenge === "string" && challenge.length > 0 ? challenge : undefined;
  } catch {
    return undefined;
  }
}

export async function registrationOptions(identity: IdentityContext, userId: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { webauthn } = identity.config;
  const user = await identity.repos.users.findById(userId);
  if (!user) throw new RampartError("RAMPART_ERR_UNAUTHENTICATED");
  const existing = await identity.repos.passkeys.listForUser(user.id);
  return generateRegistrationOptions({
    rpName: webauthn.rpName,
    rpID: webauthn.rpId,
    userName: user.email,
    // The user handle is the opaque user id, never the email (it is stored on the authenticator).
    userID: new TextEncoder().encode(user.id),
    challenge: await issueChallenge(identity, "register", user.id),
    timeout: webauthn.challengeTtlSeconds * 1000,
    attestationType: "none",
    excludeCredentials: existing.map((p) => ({ id: p.id, transports: p.transports })),
    authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
    supportedAlgorithmIDs: ALGORITHMS,
  });
}

export interface RegistrationInput extends RegistrationResponseJSON {
  name?: string;
}

export async function verifyRegistration(identity: IdentityContext, request: FastifyRequest, userId: string, input: RegistrationInput): Promise<Passkey> {
  const { webauthn } = identity.config;
  const refuse = async (reason: string, cause?: unknown) => {
    await audit(identity, request, { type: "webauthn.registration_failed", subject: userId, details: { reason } });
    return new RampartError("RAMPART_ERR_BAD_REQUEST", {
      detail: "The passkey registration could not be verified; ask for new options and try again.",
      reason,
      ...(cause === undefined ? {} : { cause }),
    });
  };
  const challenge = challengeOf(input.response.clientDataJSON);
  // Consumed for this user only: a challenge issued to someone else is not found (and stays theirs).
  if (!challenge || !(await identity.repos.webauthnChallenges.consume(challengeHash(challenge), "register", userId))) {
    throw await refuse("registration challenge unknown, expired, spent or issued to another user");
  }
  const { name, ...response } = input;
  let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verification = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...webauthn.origins],
      expectedRPID: webauthn.rpId,
      expectedType: "webauthn.create",
      requireUserVerification: true,
      supportedAlgorithmIDs: ALGORITHMS,
    });
  } catch (error) {
    throw await refuse(`attestation rejected: ${(error as Error).message}`, error);
  }
  if (!verification.verified) throw await refuse("attestation not verified");
  const { credential, credentialDeviceType, credentialBackedUp } = verification.registrationInfo;
  const passkey = await identity.repos.passkeys.insert({
    id: credential.id,
    userId,
    name: name?.trim() || "Passkey",
    publicKey: Buffer.from(credential.publicKey).toString("base64url"),
    signCount: credential.counter,
    transports: credential.transports ?? [],
    backupEligible: credentialDeviceType === "multiDevice",
    backedUp: credentialBackedUp,
  });
  await audit(identity, request, { type: "webauthn.registered", subject: passkey.id, details: { name: passkey.name, backedUp: passkey.backedUp } });
  return passkey;
}

/**
 * Login options. With an email, `allowCredentials` lists that user's passkeys; an unknown email gets
 * exactly what a known user without passkeys gets (an empty list), so the answer enumerates nobody.
 * Without one, the list is empty and the browser offers its discoverable credentials.
 */
export async function loginOptions(identity: IdentityContext, email: string | undefined): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { webauthn } = identity.config;
  let allow: Passkey[] = [];
  if (email !== undefined) {
    const user = await identity.repos.users.findByEmail(email);
    allow = user && !user.disabled ? await identity.repos.passkeys.listForUser(user.id) : [];
  }
  return generateAuthenticationOptions({
    rpID: webauthn.rpId,
    allowCredentials: allow.map((p) => ({ id: p.id, transports: p.transports })),
    challenge: await issueChallenge(identity, "login", null),
    timeout: webauthn.challengeTtlSeconds * 1000,
    userVerification: "required",
  });
}

/**
 * Verifies an assertion and returns the user to open a session for.
 * @throws RampartError RAMPART_ERR_INVALID_CREDENTIALS (every failure, one body), RAMPART_ERR_LOGIN_THROTTLED.
 */
export async function verifyLogin(identity: IdentityContext, request: FastifyRequest, response: AuthenticationResponseJSON) {
  const { webauthn } = identity.config;
  const client = request.rampart.client.ip;
  // The throttle's pair is (credential id, client); its per-client budget spans passwords and passkeys.
  const throttleKey = `webauthn:${response.id}`;
  const gate = await identity.throttle.check(throttleKey, client);
  if (!gate.allowed) {
    await refuseThrottled(identity, request, {
      retryAfterMs: gate.retryAfterMs,
      event: { type: "login.throttled", details: { scope: gate.scope, method: "passkey" } },
    });
  }
  const fail = async (reason: string, userId: string | null = null, cause?: unknown) => {
    identity.telemetry.loginFailure("passkey");
    await identity.throttle.recordFailure(throttleKey, client);
    await audit(identity, request, { type: "login.failure", actorId: userId, subject: userId, details: { method: "passkey", reason } });
    return new RampartError("RAMPART_ERR_INVALID_CREDENTIALS", {
      detail: "The passkey could not be verified.",
      reason,
      headers: { "www-authenticate": `${BEARER_CHALLENGE}, error="invalid_token"` },
      ...(cause === undefined ? {} : { cause }),
    });
  };

  const challenge = challengeOf(response.response.clientDataJSON);
  if (!challenge || !(await identity.repos.webauthnChallenges.consume(challengeHash(challenge), "login", null))) {
    throw await fail("login challenge unknown, expired or spent");
  }
  const passkey = await identity.repos.passkeys.findById(response.id);
  if (!passkey) throw await fail("unknown credential");
  // §7.2 step 6: a user handle, when present, must name the credential's owner.
  if (response.response.userHandle !== undefined && Buffer.from(response.response.userHandle, "base64url").toString("utf8") !== passkey.userId) {
    throw await fail("user handle does not match the credential's owner", passkey.userId);
  }

  let verification: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
  try {
    verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...webauthn.origins],
      expectedRPID: webauthn.rpId,
      expectedType: "webauthn.get",
      // Counter 0 here: the library would compare counters BEFORE the signature; we compare after
      // (below), so only a validly signed assertion can raise a cloned-authenticator alarm.
      credential: { id: passkey.id, publicKey: Buffer.from(passkey.publicKey, "base64url"), counter: 0, transports: passkey.transports },
      requireUserVerification: true,
    });
  } catch (error) {
    throw await fail(`assertion rejected: ${(error as Error).message}`, passkey.userId, error);
  }
  if (!verification.verified) throw await fail("signature invalid", passkey.userId);

  const { newCounter, credentialBackedUp } = verification.authenticationInfo;
  // §6.1.1: when either counter is non-zero, it must grow. One that does not is a signal of a cloned
  // authenticator (or a replayed assertion): refused, and worth an alarm of its own.
  if ((newCounter !== 0 || passkey.signCount !== 0) && newCounter <= passkey.signCount) {
    await audit(identity, request, {
      type: "webauthn.counter_regression",
      actorId: passkey.userId,
      subject: passkey.id,
      details: { stored: passkey.signCount, presented: newCounter },
    });
    throw await fail("signature counter did not increase", passkey.userId);
  }
  if (!(await identity.repos.passkeys.updateAfterLogin(passkey.id, passkey.signCount, { signCount: newCounter, backedUp: credentialBackedUp }))) {
    throw await fail("signature counter moved concurrently", passkey.userId);
  }

  const user = await identity.users.get(passkey.userId);
  if (!user || user.disabled) throw await fail("user disabled", passkey.userId);
  await identity.throttle.recordSuccess(throttleKey, client);
  await audit(identity, request, { type: "login.success", actorId: user.id, subject: user.id, details: { method: "passkey", credential: passkey.id } });
  return { id: user.id, roles: user.roles };
}
