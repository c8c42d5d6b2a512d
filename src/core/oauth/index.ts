export { BASIC_CHALLENGE, OAUTH_ERRORS, OAuthError, type OAuthErrorCode, oauthErrorBody, oauthErrorHeaders } from "./errors.ts";
export { type ClientAuthMethod, type PresentedClientCredentials, readClientCredentials } from "./client-auth.ts";
export { grantScopes } from "./scope.ts";
export { type AuthorizationServerMetadata, authorizationServerMetadata, issuerOrigin, OAUTH_PATHS } from "./metadata.ts";
