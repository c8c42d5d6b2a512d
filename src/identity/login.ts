/**
 * Password verification with throttling and no user enumeration: the back-off is checked BEFORE the
 * password (a correct password does not lift it), an unknown email verifies against a dummy hash so
 * it costs the same, and every failure — unknown email, wrong password, disabled account — gets the
 * same 401 body.
 */
import type { FastifyRequest } from "fastify";
import { RampartError } from "../core/errors.ts";
import { audit } from "./audit.ts";
import { refuseThrottled } from "./throttled.ts";
import type { IdentityContext } from "./context.ts";
import { BEARER_CHALLENGE } from "../http/stages/authenticate.ts";

export async function login(identity: IdentityContext, request: FastifyRequest, email: string, password: string) {
  const client = request.rampart.client.ip;
  const gate = await identity.throttle.check(email, client);
  if (!gate.allowed) {
    await refuseThrottled(identity, request, { retryAfterMs: gate.retryAfterMs, event: { type: "login.throttled", details: { scope: gate.scope } } });
  }
  const user = await identity.repos.users.findByEmail(email);
  const ok = user ? await identity.hasher.verify(user.passwordHash, password) : await identity.hasher.verifyAgainstDummy(password);
  if (!user || !ok || user.disabled) {
    await identity.throttle.recordFailure(email, client);
    // One reason for all three causes, as the 401 is one body: /metrics must not enumerate accounts either.
    identity.telemetry.loginFailure("bad_credentials");
    await audit(identity, request, { type: "login.failure", actorId: user?.id ?? null, subject: user?.id ?? null });
    throw new RampartError("RAMPART_ERR_INVALID_CREDENTIALS", {
      detail: "The email or password is incorrect.",
      headers: { "www-authenticate": `${BEARER_CHALLENGE}, error="invalid_token"` },
    });
  }
  await identity.throttle.recordSuccess(email, client);
  if (identity.hasher.needsRehash(user.passwordHash)) {
    await identity.repos.users.setPasswordHash(user.id, await identity.hasher.hash(password));
  }
  await audit(identity, request, { type: "login.success", actorId: user.id, subject: user.id });
  return user;
}
