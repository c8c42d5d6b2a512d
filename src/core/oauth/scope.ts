/**
 * The scope of a client-credentials token (RFC 6749 §3.3): the requested space-delimited scopes, each
 * a permission covered by one of the client's own; without `scope`, all of the client's scopes.
 */
import { covers, parsePermission, type Permission } from "../authz/index.ts";
import { OAuthError } from "./errors.ts";

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** @throws OAuthError `invalid_scope` for a malformed scope or one beyond the client's. */
export function grantScopes(clientScopes: readonly string[], requested: string | undefined): string[] {
  if (requested === undefined) return [...clientScopes];
  const own = clientScopes.map((s) => parsePermission(s));
  const list = requested.split(" ");
  const granted: string[] = [];
  for (const scope of list) {
    if (!SCOPE_TOKEN.test(scope)) throw new OAuthError("invalid_scope", "The scope parameter is malformed.", `bad scope token ${JSON.stringify(scope)}`);
    let permission: Permission;
    try {
      permission = parsePermission(scope);
    } catch {
      throw new OAuthError("invalid_scope", `Unknown scope ${scope}.`, "scope is not a permission");
    }
    if (!own.some((grant) => covers(grant, permission))) {
      throw new OAuthError("invalid_scope", `The scope ${scope} is not granted to this client.`, "scope beyond the client's");
    }
    if (!granted.includes(permission.text)) granted.push(permission.text);
  }
  return granted;
}
