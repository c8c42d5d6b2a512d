/**
 * The gateway policy file's schema (CONTRACT.md "Gateway mode"). TypeBox gives both the JSON Schema,
 * published as `schema/rampart.policy.schema.json` for editor completion (a test keeps it in sync), and
 * the static type. Every object is closed: a `permisions` typo must stop start-up, never yield a rule
 * that only requires authentication.
 *
 * The schema checks shape only; what it cannot say (the `match` grammar, grantable permissions, limit
 * grammar, unreachable rules, body schemas) is checked by `compilePolicy` in ./policy.ts.
 *
 * `npm run schema` (scripts/publish-schemas.ts) writes the published file.
 */
import { type Static, Type as T } from "@sinclair/typebox";

export const POLICY_SCHEMA_PATH = "schema/rampart.policy.schema.json";

/** Largest `body.maxBytes` a rule may declare: 100 MiB. */
export const MAX_BODY_BYTES = 100 * 1024 * 1024;

const closed = { additionalProperties: false } as const;

// Same grammar as ROLE_NAME in src/core/authz/roles.ts (validateRoleTable is also run on every role).
const ROLE_NAME = "^[a-z][a-z0-9_-]{0,63}$";

const Permission = T.String({ minLength: 1, description: "`resource:action[:qualifier]`, e.g. `orders:read`." });

export const RuleSchema = T.Object(
  {
    match: T.String({
      minLength: 1,
      description:
        "`METHOD[,METHOD…] /path`: methods GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (upper case; GET also admits HEAD); path in Fastify syntax, a `:param` per whole segment and an optional final `/*`, written decoded (no `%`).",
      examples: ["GET /api/orders", "POST,PATCH /api/orders/:id", "GET /static/*"],
    }),
    auth: T.Optional(
      T.Union([T.Literal("public"), T.Literal("required")], {
        default: "required",
        description: "`required` (the default): an authenticated caller; `public` must be said.",
      }),
    ),
    permissions: T.Optional(
      T.Array(Permission, {
        description: "Every one is required. Each must be granted by some role (built-in or under `roles`). Not allowed on a public rule.",
      }),
    ),
    limits: T.Optional(
      T.Array(T.String({ minLength: 1 }), {
        description: "Rate-limit policies, stacked: `<limit>/[<n>]<second|minute|hour|day>[ burst <n>]`. Keyed by principal, or by client IP on public rules.",
        examples: [["30/minute burst 10"]],
      }),
    ),
    body: T.Optional(
      T.Object(
        {
          maxBytes: T.Optional(
            T.Integer({ minimum: 1, maximum: MAX_BODY_BYTES, description: "Largest request body, in bytes (413 above). Default: 1048576 (1 MiB)." }),
          ),
          schema: T.Optional(
            T.Record(T.String(), T.Unknown(), {
              description: "JSON Schema the JSON body must satisfy (400 otherwise). Default: the operation's request body schema from `openapi`, if any.",
            }),
          ),
        },
        { ...closed, description: "Request body bounds." },
      ),
    ),
  },
  { ...closed, title: "Rule", description: "One route rule. Rules are tried in order; the first match wins." },
);

export const PolicySchema = T.Object(
  {
    $schema: T.Optional(T.String({ description: "This schema's URL or path, for editors." })),
    audience: T.Optional(
      T.String({
        minLength: 1,
        pattern: "^\\S+$",
        description: "`aud` of the X-Rampart-Assertion the upstream receives. Default: the upstream's origin.",
      }),
    ),
    openapi: T.Optional(
      T.String({
        minLength: 1,
        description:
          "OpenAPI 3 document of the upstream (JSON or YAML), relative to this file. A rule without `body.schema` takes the JSON request body schema of its operation.",
      }),
    ),
    roles: T.Optional(
      T.Record(T.String({ pattern: ROLE_NAME }), T.Array(Permission), {
        ...closed,
        description: "Application roles and the permissions they grant, added to the built-in `admin` and `user` (which cannot be redefined).",
      }),
    ),
    routes: T.Array(RuleSchema, {
      minItems: 1,
      description: "First match wins; a request that matches no rule gets 404 and is never forwarded.",
    }),
  },
  { ...closed, title: "Rampart gateway policy", description: "Which requests `rampart gateway` forwards to the upstream, and under which checks." },
);

export type PolicyInput = Static<typeof PolicySchema>;
export type RuleInput = Static<typeof RuleSchema>;

/** The published JSON Schema text (2020-12). */
export function renderPolicySchema(): string {
  return `${JSON.stringify({ $schema: "https://json-schema.org/draft/2020-12/schema", ...structuredClone(PolicySchema) }, null, 2)}\n`;
}
