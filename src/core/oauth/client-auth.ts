/**
 * Client authentication at the token, introspection and revocation endpoints (RFC 6749 §2.3.1):
 * HTTP Basic (`client_secret_basic`) or the `client_id` + `client_secret` form parameters
 * (`client_secret_post`), exactly one of them. Basic's id and secret are form-urlencoded before being
 * base64-encoded, so they are decoded here (a `+` is a space, `%3A` a colon).
 */
import { OAuthError } from "./errors.ts";

export type ClientAuthMethod = "client_secret_basic" | "client_secret_post";

export interface PresentedClientCredentials {
  readonly method: ClientAuthMethod;
  readonly clientId: string;
  readonly clientSecret: string;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Far above a real id or secret: a bound on work, not a policy. */
const MAX_CREDENTIAL_LENGTH = 512;

function formDecode(value: string, what: string): string {
  try {
    return decodeURIComponent(value.replaceAll("+", " "));
  } catch {
    throw new OAuthError("invalid_client", "Client authentication failed.", `Basic ${what} is not form-urlencoded`);
  }
}

function parseBasic(header: string): { clientId: string; clientSecret: string } {
  const match = /^basic +(\S+)$/i.exec(header.trim());
  if (!match) throw new OAuthError("invalid_client", "Client authentication failed: use HTTP Basic or client_secret_post.", "unsupported Authorization scheme");
  const encoded = match[1] as string;
  if (encoded.length > MAX_CREDENTIAL_LENGTH * 2 || !BASE64.test(encoded)) {
    throw new OAuthError("invalid_client", "Client authentication failed.", "Basic credentials are not base64");
  }
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) throw new OAuthError("invalid_client", "Client authentication failed.", "Basic credentials have no colon");
  return { clientId: formDecode(decoded.slice(0, colon), "client id"), clientSecret: formDecode(decoded.slice(colon + 1), "secret") };
}

/**
 * @throws OAuthError `invalid_request` when both methods are used (or a parameter is repeated),
 * `invalid_client` when no credentials or malformed ones are presented.
 */
export function readClientCredentials(
  authorization: string | undefined,
  form: Readonly<Record<string, string | undefined>>,
): PresentedClientCredentials {
  const postedId = form.client_id;
  const postedSecret = form.client_secret;
  let presented: PresentedClientCredentials;
  if (authorization !== undefined) {
    // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
    if (postedSecret !== undefined || postedId !== undefined) {
      throw new OAuthError("invalid_request", "Use exactly one client authentication method: HTTP Basic or client_secret_post, not both.");
    }
    presented = { method: "client_secret_basic", ...parseBasic(authorization) };
  } else {
    if (postedId === undefined || postedSecret === undefined) {
      throw new OAuthError("invalid_client", "Client authentication required: HTTP Basic or client_id and client_secret.", "no client credentials");
    }
    presented = { method: "client_secret_post", clientId: postedId, clientSecret: postedSecret };
  }
  if (
    presented.clientId === "" ||
    presented.clientSecret === "" ||
    presented.clientId.length > MAX_CREDENTIAL_LENGTH ||
    presented.clientSecret.length > MAX_CREDENTIAL_LENGTH
  ) {
    throw new OAuthError("invalid_client", "Client authentication failed.", "empty or oversized client credentials");
  }
  return presented;
}
