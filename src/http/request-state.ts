/**
 * The one object a request carries through the pipeline (`request.rampart`), and the route-level
 * security declaration (`config.rampart`). Declared here so every stage shares one shape.
 */
import type { ClientInfo } from "../core/client.ts";
import type { PermissionSet } from "../core/authz/index.ts";

export type CredentialKind = "bearer" | "api-token" | "cookie";

export interface Principal {
  /** user id */
  userId: string;
  email?: string;
  roles: readonly string[];
  /** How the caller authenticated. */
  via: CredentialKind;
  /** Access-token id (JWT) or API-token id. */
  credentialId: string;
  /** Session (refresh family) id, for JWT/cookie credentials. */
  sessionId?: string;
  /** API-token scopes; undefined = no narrowing. */
  scopes?: readonly string[];
  /** Access-token expiry (epoch seconds), where the credential has one. */
  expiresAt?: number;
  /** What the principal may do now: its roles' grants, narrowed by token scopes (a ScopedPermissionSet). */
  permissions: PermissionSet;
}

export interface RequestState {
  client: ClientInfo;
  principal: Principal | undefined;
}

export interface RouteSecurity {
  /** `public`: anyone; otherwise an authenticated caller is required (the default). */
  auth?: "public" | "required";
  /** Credential kinds accepted; default all. */
  credentials?: readonly CredentialKind[];
  /** Permissions the principal must hold (all of them). */
  permissions?: readonly string[];
  /** Rate-limit policies for this route, on top of the defaults; `false` opts out of per-route limits. */
  limits?: readonly { policy: string; key: "ip" | "principal" | "ip+principal" }[] | false;
}

declare module "fastify" {
  interface FastifyRequest {
    rampart: RequestState;
  }
  interface FastifyContextConfig {
    rampart?: RouteSecurity;
  }
}
