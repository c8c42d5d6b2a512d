/**
 * Authorization-server metadata (RFC 8414 §2) for the client-credentials endpoints. Every URL is built
 * from one trusted base (the issuer's origin, or a Host the allowlist accepted), never from an
 * unchecked Host header: a forged Host must not be able to point clients at an attacker's token endpoint.
 */
export const OAUTH_PATHS = {
  token: "/oauth/token",
  introspection: "/oauth/introspect",
  revocation: "/oauth/revoke",
  jwks: "/.well-known/jwks.json",
  metadata: "/.well-known/oauth-authorization-server",
} as const;

const AUTH_METHODS = ["client_secret_basic", "client_secret_post"];

export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  introspection_endpoint: string;
  revocation_endpoint: string;
  jwks_uri: string;
  grant_types_supported: string[];
  response_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  introspection_endpoint_auth_methods_supported: string[];
  revocation_endpoint_auth_methods_supported: string[];
  scopes_supported?: string[];
}

/** The issuer's origin when the issuer is an http(s) URL (https only in production); else undefined. */
export function issuerOrigin(issuer: string, production: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && (production || url.protocol !== "http:")) return undefined;
  return url.origin;
}

/** `base`: an origin like `https://auth.example.com` (no trailing slash). */
export function authorizationServerMetadata(issuer: string, base: string, scopes?: readonly string[]): AuthorizationServerMetadata {
  return {
    issuer,
    token_endpoint: `${base}${OAUTH_PATHS.token}`,
    introspection_endpoint: `${base}${OAUTH_PATHS.introspection}`,
    revocation_endpoint: `${base}${OAUTH_PATHS.revocation}`,
    jwks_uri: `${base}${OAUTH_PATHS.jwks}`,
    grant_types_supported: ["client_credentials"],
    // RFC 8414 requires the member; there is no authorization endpoint, so no response type.
    response_types_supported: [],
    token_endpoint_auth_methods_supported: [...AUTH_METHODS],
    introspection_endpoint_auth_methods_supported: [...AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...AUTH_METHODS],
    ...(scopes ? { scopes_supported: [...scopes] } : {}),
  };
}
