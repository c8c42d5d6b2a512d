/**
 * The one object a request carries through the pipeline (`request.rampart`), and the route-level
 * security declaration (`config.rampart`). Declared here so every stage shares one shape.
 */
import type { ClientInfo } from "../core/client.ts";
import type { PermissionSet } from "../core/authz/index.ts";

export type CredentialKind = "bearer" | "api-token" | "cookie";

export interface Principal {
  /** user id, or the service client's id (see `clientId`) */
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
  /**
   * Set when the caller is an OAuth service client (client credentials grant): then `userId` is that
   * same client id, `roles` is empty and `permissions` are the token's scopes.
   */
  clientId?: string;
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
  /** Stage 4 left its per-IP decision to stage 7, which decides both in one round trip (rate-limit.ts). */
  clientLimitDeferred?: true;
  /** The stage that refused, when it cannot be told from the error alone (metrics; see http/telemetry.ts). */
  refusedBy?: "limit-client";
}

export interface RouteLimit {
  policy: string;
  key: "ip" | "principal";
}

/** Every key a route declaration may have (all optional); see RouteSecurity. */
export interface RouteSecurityFields {
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
   * ("10/minute", "20/minute burst 40") or a config group ("login", "register"), keyed by client IP or by
   * principal. A bare string is keyed by principal, or by client IP on a public route.
   * `false` turns rate limiting off for the route entirely (e.g. a load balancer's health check).
   */
  limits?: readonly (string | RouteLimit)[] | false;
}

/**
 * A route's declaration: at least one of the keys above. Fastify infers a route's `config` type from
 * the literal it is given, so TypeScript cannot flag an extra key by itself; requiring one known key
 * makes a declaration whose only key is misspelt (`{ permisions: [...] }`) a compile error. Every
 * other misspelling stops start-up (route-security.ts).
 */
export type RouteSecurity = { [K in keyof RouteSecurityFields]-?: Required<Pick<RouteSecurityFields, K>> & Omit<RouteSecurityFields, K> }[keyof RouteSecurityFields];

declare module "fastify" {
  interface FastifyRequest {
    rampart: RequestState;
  }
  interface FastifyContextConfig {
    rampart?: RouteSecurity;
    /** Compiled by the rate-limit stages at registration (opaque to everything else). */
    rampartLimits?: unknown;
    /** Set by the route registry once the declaration passed its checks. */
    rampartChecked?: boolean;
    /** A health probe: still served when a closed-failing limiter store is down (routes/ops.ts). */
    rampartProbe?: boolean;
    /** A route no client can name (the gateway's refusal route): left out of the route table. */
    rampartInternal?: boolean;
  }
}
