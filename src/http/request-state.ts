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
  /** The lowest `remaining` among the rate-limit decisions so far (which one `RateLimit` reports). */
  limitRemaining?: number;
}

export interface RouteSecurity {
  /** `public`: anyone; otherwise an authenticated caller is required (the default). */
  auth?: "public" | "required";
  /** Credential kinds accepted; default all. */
  credentials?: readonly CredentialKind[];
  /** Media types the route answers with, for Accept negotiation; default JSON. */
  produces?: readonly string[];
  /** Permissions the principal must hold (all of them). */
  permissions?: readonly string[];
  /**
   * Rate-limit policies for this route, on top of the per-IP and per-principal defaults: a policy string
   * ("10/minute") or a config group ("login", "register"), keyed by client IP or by principal.
   * `false` turns rate limiting off for the route entirely (e.g. a load balancer's health check).
   */
  limits?: readonly { policy: string; key: "ip" | "principal" }[] | false;
}

declare module "fastify" {
  interface FastifyRequest {
    rampart: RequestState;
  }
  interface FastifyContextConfig {
    rampart?: RouteSecurity;
    /** Compiled by the rate-limit stages at registration (opaque to everything else). */
    rampartLimits?: unknown;
  }
}
