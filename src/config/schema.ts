/**
 * The one configuration schema. TypeBox gives both the JSON Schema (published as
 * `schema/rampart.config.schema.json` for editor completion; a test keeps it in sync) and the static
 * type. Every object is closed (`additionalProperties: false`) so a typo is an error, not a silently
 * ignored key.
 */
import { type Static, Type as T } from "@sinclair/typebox";

const closed = { additionalProperties: false } as const;
const Seconds = (description: string, def: number, minimum = 1) =>
  T.Integer({ minimum, default: def, description });
const PolicyList = (description: string, def: string[]) =>
  T.Array(T.String({ minLength: 1 }), { default: def, description });

export const ConfigSchema = T.Object(
  {
    env: T.Union([T.Literal("development"), T.Literal("production")], {
      default: "development",
      description: "`production` turns on HTTPS enforcement and refuses unsafe configuration (env: RAMPART_ENV).",
    }),
    host: T.String({ minLength: 1, default: "127.0.0.1", description: "Listen address (env: HOST)." }),
    port: T.Integer({ minimum: 0, maximum: 65535, default: 8080, description: "Listen port (env: PORT)." }),
    dataDir: T.String({ minLength: 1, default: "./data", description: "Embedded database and development keys (env: RAMPART_DATA_DIR)." }),
    databaseUrl: T.Optional(T.String({ pattern: "^postgres(ql)?://", description: "PostgreSQL URL; unset = embedded SQLite (env: DATABASE_URL)." })),
    redisUrl: T.Optional(
      T.String({
        pattern: "^rediss?(\\+cluster)?://",
        description:
          "Redis URL for shared rate-limit, revocation and lockout state: redis://host:port (rediss:// for TLS), or redis+cluster://host1:port1,host2:port2 (rediss+cluster:// for TLS) for a Redis Cluster, listing seed nodes (env: REDIS_URL).",
      }),
    ),
    registration: T.Optional(
      T.Union([T.Literal("open"), T.Literal("closed")], {
        description: "Self-service sign-up. Default: open in development, closed in production (env: RAMPART_REGISTRATION).",
      }),
    ),
    allowedHosts: T.Array(T.String({ minLength: 1 }), {
      default: [],
      description:
        "Host names the Host header may name; `.example.com` also allows its subdomains; a name without a port matches any port. Other hosts get 400. Required in production; empty = any host in development (env: RAMPART_ALLOWED_HOSTS, comma-separated).",
    }),
    trustedProxies: T.Array(T.String({ minLength: 1 }), {
      default: [],
      description: "IPs/CIDRs whose forwarding headers are believed (env: RAMPART_TRUSTED_PROXIES, comma-separated).",
    }),
    proxyHeaders: T.Union([T.Literal("both"), T.Literal("x-forwarded"), T.Literal("forwarded")], {
      default: "both",
      description: "Which forwarding headers a trusted proxy may set: X-Forwarded-For/-Proto, RFC 7239 Forwarded, or both (Forwarded wins when present).",
    }),
    https: T.Object(
      {
        certFile: T.Optional(T.String({ minLength: 1, description: "PEM certificate chain for native TLS." })),
        keyFile: T.Optional(T.String({ minLength: 1, description: "PEM private key for native TLS." })),
        enforce: T.Optional(T.Boolean({ description: "Refuse plain HTTP. Default: true in production, false in development." })),
        redirect: T.Boolean({
          default: false,
          description: "Answer plain-HTTP GET/HEAD with a 308 redirect to HTTPS instead of 403 (for browser-facing deployments).",
        }),
        hsts: T.Object(
          {
            enabled: T.Boolean({ default: true, description: "Send Strict-Transport-Security." }),
            maxAgeSeconds: Seconds("Strict-Transport-Security max-age.", 31536000, 0),
            includeSubDomains: T.Boolean({ default: true, description: "Add `includeSubDomains`." }),
            preload: T.Boolean({ default: false, description: "Add `preload` (only once the domain is submitted to the browsers' preload list)." }),
          },
          { ...closed, default: {}, description: "Strict-Transport-Security, sent on HTTPS responses only." },
        ),
      },
      { ...closed, default: {}, title: "HTTPS", description: "Native TLS, HTTPS enforcement and HSTS." },
    ),
    cors: T.Object(
      {
        origins: T.Array(T.String({ minLength: 1 }), {
          default: [],
          description: "Exact origins allowed cross-origin, e.g. https://app.example.com (env: RAMPART_CORS_ORIGINS).",
        }),
        credentials: T.Boolean({ default: false, description: "Send Access-Control-Allow-Credentials." }),
        maxAgeSeconds: Seconds("Preflight cache lifetime.", 600, 0),
        allowedHeaders: T.Array(T.String({ minLength: 1 }), {
          default: ["authorization", "content-type", "x-csrf-token", "x-request-id"],
          description: "Request headers a preflight allows (Access-Control-Allow-Headers).",
        }),
        exposedHeaders: T.Array(T.String({ minLength: 1 }), {
          default: ["x-request-id", "ratelimit", "ratelimit-policy", "retry-after", "www-authenticate"],
          description: "Response headers cross-origin pages may read (Access-Control-Expose-Headers).",
        }),
      },
      { ...closed, default: {}, title: "CORS", description: "Which other origins may call the API from a browser." },
    ),
    limits: T.Object(
      {
        bodyBytes: T.Integer({ minimum: 1, default: 1048576, description: "Largest request body accepted (413 above)." }),
        headerBytes: T.Integer({ minimum: 1024, default: 16384, description: "Largest request header block accepted (431 above)." }),
        paramLength: T.Integer({ minimum: 1, default: 200, description: "Longest path parameter accepted." }),
        connectionsPerAddress: T.Integer({
          minimum: 0,
          default: 64,
          description:
            "Most open connections from one client address; a further connection is closed at once (slowloris, socket exhaustion). Trusted proxies (`trustedProxies`) are exempt: every client behind one shares its address. 0 = no cap.",
        }),
      },
      { ...closed, default: {}, title: "Request limits", description: "Size bounds checked before a request is parsed, and the per-address connection cap." },
    ),
    timeouts: T.Object(
      {
        headersSeconds: Seconds("Longest time a client may take to send the request line and headers; then 408 and the connection is closed. At most `requestSeconds`.", 10),
        requestSeconds: Seconds("Longest time a client may take to send a whole request, body included (a body trickled byte by byte is cut off here); then 408 and the connection is closed.", 30),
        keepAliveSeconds: Seconds("How long an idle keep-alive connection is kept open after a response.", 5),
      },
      {
        ...closed,
        default: {},
        title: "Slow-client timeouts",
        description: "Bounds on how long one connection may hold the server while sending (slowloris) or idling. Checked every second.",
      },
    ),
    tokens: T.Object(
      {
        algorithm: T.Union([T.Literal("EdDSA"), T.Literal("ES256"), T.Literal("HS256")], {
          default: "EdDSA",
          description: "Access-token signing algorithm. HS256 only with hs256Secret of at least 32 bytes.",
        }),
        hs256Secret: T.Optional(T.String({ description: "Shared secret for HS256 (at least 32 bytes)." })),
        issuer: T.String({ minLength: 1, default: "rampart", description: "`iss` of access tokens." }),
        audience: T.String({ minLength: 1, default: "rampart-api", description: "`aud` of access tokens." }),
        accessTtlSeconds: Seconds("Access-token lifetime.", 600),
        refreshTtlSeconds: Seconds("Refresh-token lifetime.", 2592000),
        clockToleranceSeconds: Seconds("Allowed clock skew when verifying.", 5, 0),
        apiTokenMaxDays: Seconds("Longest API-token lifetime a user may ask for.", 365),
      },
      { ...closed, default: {}, title: "Tokens", description: "Access-token signing and verification; refresh-token and API-token lifetimes." },
    ),
    passwords: T.Object(
      {
        minLength: T.Integer({ minimum: 8, maximum: 256, default: 15, description: "Shortest password accepted, in characters (after NFKC normalisation)." }),
        maxLength: T.Integer({ minimum: 64, maximum: 1024, default: 256, description: "Longest password accepted, in characters." }),
        argon2: T.Object(
          {
            memoryCost: T.Integer({ minimum: 19456, default: 19456, description: "KiB (OWASP minimum 19456)." }),
            timeCost: T.Integer({ minimum: 2, default: 2, description: "Iterations (OWASP minimum 2)." }),
            parallelism: T.Integer({ minimum: 1, default: 1, description: "Degree of parallelism (lanes)." }),
          },
          { ...closed, default: {}, description: "argon2id cost of new hashes; a stored hash with other parameters is rehashed at the next login." },
        ),
      },
      { ...closed, default: {}, title: "Passwords", description: "Password policy and argon2id cost." },
    ),
    sessions: T.Object(
      {
        sameSite: T.Union([T.Literal("strict"), T.Literal("lax")], { default: "strict", description: "SameSite attribute of the session, refresh and CSRF cookies." }),
      },
      { ...closed, default: {}, title: "Browser sessions", description: "Cookies set by `POST /auth/login?session=cookie`." },
    ),
    webauthn: T.Object(
      {
        rpId: T.String({
          minLength: 1,
          maxLength: 253,
          pattern: "^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$",
          default: "localhost",
          description: "Relying Party ID: the domain passkeys are bound to (the origins' host or a parent domain of it). Changing it orphans every registered passkey.",
        }),
        rpName: T.String({ minLength: 1, maxLength: 100, default: "Rampart", description: "Name the browser shows when a passkey is created." }),
        origins: T.Array(T.String({ minLength: 1 }), {
          minItems: 1,
          default: ["http://localhost:8080"],
          description: "Exact origins (scheme, host, port) of the pages that run the WebAuthn ceremonies; an assertion made on any other origin is refused. Never taken from the request.",
        }),
        challengeTtlSeconds: T.Integer({ minimum: 30, maximum: 300, default: 180, description: "How long a registration or login challenge may be answered (single use)." }),
      },
      { ...closed, default: {}, title: "Passkeys", description: "WebAuthn relying party for `/auth/webauthn/*`." },
    ),
    loginThrottle: T.Object(
      {
        freeFailures: T.Integer({ minimum: 1, default: 5, description: "Failures per (email, client) before back-off starts." }),
        baseDelaySeconds: Seconds("First back-off delay; doubles with each further failure.", 1),
        maxDelaySeconds: Seconds("Back-off cap.", 900),
        windowSeconds: Seconds("How long failures are remembered.", 900),
        clientFailuresPerHour: T.Integer({ minimum: 1, default: 100, description: "Failures per client across all emails before it is locked." }),
      },
      { ...closed, default: {}, title: "Login throttling", description: "Exponential back-off per (email, client) and a failure budget per client." },
    ),
    rateLimit: T.Object(
      {
        enabled: T.Boolean({ default: true, description: "`false` turns every limit off (a deploy check refuses that in production)." }),
        ipv6Prefix: T.Integer({ minimum: 32, maximum: 128, default: 56, description: "IPv6 addresses are grouped by this prefix." }),
        maxKeys: T.Integer({ minimum: 1000, default: 100000, description: "Bound of the in-process limiter store (LRU)." }),
        failurePolicy: T.Union([T.Literal("open"), T.Literal("closed")], {
          default: "open",
          description:
            "When Redis is unreachable: open = fall back to the local limiter and login back-off (logged) and check every token against storage until the revocation broadcast has caught up; closed = 503 (the /healthz and /readyz probes are still served).",
        }),
        redisTimeoutMs: T.Integer({ minimum: 1, default: 100, description: "How long one Redis call may take before failurePolicy applies." }),
        perIp: PolicyList("Every route, keyed by client IP.", ["600/minute burst 100"]),
        perPrincipal: PolicyList("Authenticated routes, keyed by user or API token.", ["100/second burst 200", "20000/hour"]),
        login: PolicyList("POST /auth/login, keyed by client IP.", ["10/minute burst 10", "100/hour"]),
        register: PolicyList("POST /auth/register, keyed by client IP.", ["5/minute burst 5", "20/hour"]),
      },
      { ...closed, default: {}, title: "Rate limits", description: "GCRA policies, stacked. Policy grammar: `<limit>/[<n>]<second|minute|hour|day>[ burst <n>]`, e.g. `20/minute burst 40`." },
    ),
    gateway: T.Object(
      {
        upstream: T.Optional(
          T.String({ pattern: "^https?://", description: "Base URL of the protected API, e.g. http://127.0.0.1:8000 (env: RAMPART_UPSTREAM)." }),
        ),
        policy: T.Optional(T.String({ minLength: 1, description: "Path to the policy file, YAML or JSON (env: RAMPART_POLICY)." })),
        prefix: T.String({
          default: "",
          pattern: "^(/[A-Za-z0-9._~-]+)*$",
          description: "Serve the gateway's own routes (identity, admin, operations) under this prefix, e.g. /_rampart, when the upstream needs their paths.",
        }),
        connectTimeoutMs: T.Integer({ minimum: 1, maximum: 60000, default: 5000, description: "Longest wait for a connection to the upstream (502 after)." }),
        responseTimeoutMs: T.Integer({ minimum: 1, maximum: 600000, default: 30000, description: "Longest wait for the upstream's response headers (504 after)." }),
      },
      { ...closed, default: {}, title: "gateway", description: "`rampart gateway`: the upstream it protects and its policy." },
    ),
    console: T.Object(
      {
        enabled: T.Boolean({
          default: true,
          description: "Serve the admin console at /console (under gateway.prefix in gateway mode). It has no privileges of its own: every action goes through the admin API with the signed-in user's permissions (env: RAMPART_CONSOLE=off).",
        }),
      },
      { ...closed, default: {}, title: "Admin console", description: "The browser console for users, roles, tokens, sessions, service clients, the audit log and live limits." },
    ),
    logging: T.Object(
      {
        level: T.Union(
          ["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => T.Literal(l)),
          { default: "info", description: "Lowest level written." },
        ),
        pretty: T.Optional(T.Boolean({ description: "Human-readable logs. Default: true in development on a TTY." })),
      },
      { ...closed, default: {}, title: "Logging", description: "pino JSON logs." },
    ),
    shutdownGraceMs: T.Integer({ minimum: 0, default: 10000, description: "How long in-flight requests may finish after SIGTERM." }),
  },
  { ...closed, $id: "https://rampart.dev/schemas/config.json", title: "Rampart configuration" },
);

export type ConfigInput = Static<typeof ConfigSchema>;
