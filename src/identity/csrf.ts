/**
 * CSRF protection for cookie sessions: a signed double-submit token bound to the session id
 * (HMAC-SHA256 under a key derived from the signing keys), echoed by the page in `X-CSRF-Token`,
 * plus an Origin / Sec-Fetch-Site check. Bearer-authenticated requests are not exposed to CSRF
 * (browsers never attach an Authorization header on their own) and skip all of this.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

export const CSRF_HEADER = "x-csrf-token";

export interface CsrfSigner {
  issue(sessionId: string): string;
  verify(sessionId: string, token: string | undefined): boolean;
}

/**
 * `secret` is private key material shared by every instance (derived from the active signing key's
 * private part), so all instances agree on tokens. Rotating keys invalidates outstanding CSRF tokens;
 * a page recovers by logging in again.
 */
export function createCsrfSigner(secret: string | Buffer): CsrfSigner {
  const key = Buffer.from(hkdfSync("sha256", Buffer.from(secret), "rampart", "csrf-v1", 32));
  const mac = (sessionId: string, nonce: string) => createHmac("sha256", key).update(`${sessionId}.${nonce}`).digest("base64url");
  return {
    issue(sessionId) {
      const nonce = randomBytes(16).toString("base64url");
      return `${nonce}.${mac(sessionId, nonce)}`;
    },
    verify(sessionId, token) {
      if (!token || token.length > 200) return false;
      const [nonce, signature, extra] = token.split(".");
      if (!nonce || !signature || extra !== undefined) return false;
      const expected = Buffer.from(mac(sessionId, nonce));
      const actual = Buffer.from(signature);
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
  };
}
