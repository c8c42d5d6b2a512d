/**
 * Composes `rampart gateway`: the reference server's pipeline and identity front (login, tokens, admin,
 * operations: at the contract's paths or under `gateway.prefix`), canonical request targets decided
 * before routing, one Fastify route per policy rule that forwards to the upstream, and a 404 for
 * everything else. The upstream receives only requests that passed every stage.
 */
import type { FastifyInstance } from "fastify";
import replyFrom from "@fastify/reply-from";
import fp from "fastify-plugin";
import type { Logger } from "pino";
import { ConfigError } from "../config/errors.ts";
import type { ResolvedConfig } from "../config/resolve.ts";
import { BUILTIN_ROLES, type RoleTable } from "../core/authz/index.ts";
import { RampartError } from "../core/errors.ts";
import { buildApp } from "../http/app.ts";
import { consoleRoutes } from "../console/routes.ts";
import { adminRoutes } from "../http/routes/admin.ts";
import { authRoutes } from "../http/routes/auth.ts";
import { metricsRoutes } from "../http/routes/metrics.ts";
import { captureHelmetHeaders, hstsValue } from "../http/stages/headers.ts";
import type { RampartServer } from "../server/compose.ts";
import { openIdentityLayer } from "../server/layers.ts";
import { createAssertionSigner } from "./assertion.ts";
import { findCollisions } from "./collisions.ts";
import { type CompiledPolicy, type CompiledRule, PolicyError } from "./policy.ts";
import { createProxyHandler } from "./proxy.ts";
import { AMBIGUOUS_TARGET_ROUTE, refusalOf, rewriteToCanonical } from "./target.ts";

/** What `rampart gateway` cannot start without, named the way a config error names a key. */
export function assertGatewayConfig(config: ResolvedConfig, options: { policyFile: boolean } = { policyFile: true }): { upstream: URL } {
  const issues = [];
  if (!config.gateway.upstream) issues.push({ key: "RAMPART_UPSTREAM (/gateway/upstream)", message: "the gateway needs the base URL of the API it protects" });
  if (options.policyFile && !config.gateway.policy) issues.push({ key: "RAMPART_POLICY (/gateway/policy)", message: "the gateway needs a policy file: without rules it would forward nothing" });
  if (config.tokens.algorithm === "HS256") {
    issues.push({ key: "/tokens/algorithm", message: "the upstream verifies X-Rampart-Assertion against the JWKS, and HS256 publishes no key: use EdDSA or ES256" });
  }
  let upstream: URL | undefined;
  try {
    upstream = new URL(config.gateway.upstream ?? "");
    if (upstream.pathname !== "/" || upstream.search || upstream.username || upstream.password) {
      issues.push({ key: "/gateway/upstream", message: "must be an origin (scheme, host, port) without path, query or credentials" });
    }
  } catch {
    if (config.gateway.upstream) issues.push({ key: "/gateway/upstream", message: `not a URL: ${JSON.stringify(config.gateway.upstream)}` });
  }
  if (issues.length > 0 || !upstream) throw new ConfigError(issues);
  return { upstream };
}

function applicationRoles(roles: RoleTable): RoleTable {
  return Object.fromEntries(Object.entries(roles).filter(([name]) => !(name in BUILTIN_ROLES)));
}

export async function composeGateway(config: ResolvedConfig, logger: Logger, policy: CompiledPolicy): Promise<RampartServer> {
  const { upstream } = assertGatewayConfig(config, { policyFile: false });
  const prefix = config.gateway.prefix;
  const layer = await openIdentityLayer(config, logger, applicationRoles(policy.roles));
  const { identity, telemetry, close: closeLayer, routeLimits: _routeLimits, ...protection } = layer;
  try {
    const signAssertion = createAssertionSigner({ keyRing: identity.keyRing, issuer: config.tokens.issuer, audience: policy.audience ?? upstream.origin });
    const hsts = hstsValue(config.https.hsts);
    const securityHeaders = { ...captureHelmetHeaders(), "cache-control": "no-store", ...(hsts ? { "strict-transport-security": hsts } : {}) };
    const proxy = createProxyHandler({ upstream, production: config.production, securityHeaders, signAssertion });

    const app = await buildApp({
      config,
      logger,
      ...protection,
      roles: { ...BUILTIN_ROLES, ...policy.roles },
      ops: prefix,
      rewriteUrl: rewriteToCanonical,
      routes: async (scope) => {
        await scope.register(
          async (own) => {
            await own.register(authRoutes(identity));
            await own.register(adminRoutes(identity));
            if (config.console.enabled) await own.register(consoleRoutes());
          },
          { prefix },
        );
        await scope.register(fp(metricsRoutes({ telemetry, path: `${prefix}/metrics` })));
        await registerRules(scope, policy, upstream, config, proxy);
      },
    });
    return {
      app,
      banner: [
        `mode: ${config.env}${config.https.enforce ? " (HTTPS enforced)" : ""}`,
        `upstream: ${upstream.origin}`,
        `policy: ${policy.source} (${policy.rules.length} rule${policy.rules.length === 1 ? "" : "s"})`,
        `gateway routes: ${prefix || "/"} (identity, admin, operations)`,
        `admin console: ${config.console.enabled ? `${prefix}/console` : "off"}`,
        `storage: ${identity.database.engine === "postgres" ? "PostgreSQL" : `embedded SQLite in ${config.dataDir}`}`,
        `shared state: ${config.redisUrl ? "Redis" : "in-process"}`,
      ],
      async close() {
        await app.close();
        await closeLayer();
      },
    };
  } catch (error) {
    await closeLayer();
    throw error;
  }
}

async function registerRules(
  app: FastifyInstance,
  policy: CompiledPolicy,
  upstream: URL,
  config: ResolvedConfig,
  proxy: ReturnType<typeof createProxyHandler>,
): Promise<void> {
  const own = app.rampartRoutes().filter((route) => route.url !== "*");
  const collisions = findCollisions(policy.rules, own);
  if (collisions.length > 0) throw new PolicyError(collisions.map((message) => ({ key: message.slice(0, message.indexOf(":")), message: message.slice(message.indexOf(":") + 2) })), policy.source);

  await app.register(async (scope) => {
    await scope.register(replyFrom, {
      base: upstream.origin,
      disableRequestLogging: true,
      undici: {
        connections: 128,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        connect: { timeout: config.gateway.connectTimeoutMs },
        headersTimeout: config.gateway.responseTimeoutMs,
        bodyTimeout: config.gateway.responseTimeoutMs,
      },
    });
    // Bodies pass through as bytes, whatever their type, within the rule's limit; a rule with a
    // schema takes JSON only (the strict parser installed by protectPlugin).
    scope.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
    // A request whose target was ambiguous lands here (see target.ts): 400, never forwarded.
    scope.all(AMBIGUOUS_TARGET_ROUTE, { config: { rampart: { auth: "public" }, rampartInternal: true }, schema: { hide: true } as object }, async (request) => {
      const reason = refusalOf(request.raw) ?? "ambiguous path";
      if (request.headers.upgrade !== undefined) {
        throw new RampartError("RAMPART_ERR_UPGRADE_REFUSED", { detail: "Protocol upgrades (WebSocket, h2c) are not forwarded.", reason });
      }
      throw new RampartError("RAMPART_ERR_AMBIGUOUS_PATH", {
        detail: "The request path is ambiguous (encoded slash or backslash, dot segment, empty segment, `;`, NUL or bad encoding) and was not forwarded.",
        reason,
      });
    });
    for (const rule of policy.rules) registerRule(scope, rule, config, proxy);
  });
}

function registerRule(app: FastifyInstance, rule: CompiledRule, config: ResolvedConfig, proxy: ReturnType<typeof createProxyHandler>): void {
  // Fastify answers HEAD from a GET route itself (exposeHeadRoutes): the HEAD twin carries the same declaration.
  const methods = rule.methods.includes("GET") ? rule.methods.filter((m) => m !== "HEAD") : [...rule.methods];
  const schema = rule.body?.schema;
  app.route({
    method: methods as never,
    url: rule.path,
    bodyLimit: rule.body?.maxBytes ?? config.limits.bodyBytes,
    config: {
      rampart: {
        auth: rule.auth,
        ...(rule.permissions.length > 0 ? { permissions: [...rule.permissions] } : {}),
        ...(rule.limits.length > 0 ? { limits: [...rule.limits] } : {}),
      },
      rampartRule: rule.index,
    } as never,
    ...(schema ? { schema: { body: schema }, preValidation: requireJson } : {}),
    handler: proxy,
  });
}

/** A rule with a body schema validates JSON; any other body type would only be "not an object". */
async function requireJson(request: import("fastify").FastifyRequest): Promise<void> {
  if (request.body !== undefined && Buffer.isBuffer(request.body)) {
    throw new RampartError("RAMPART_ERR_UNSUPPORTED_MEDIA_TYPE", { detail: "This endpoint takes Content-Type: application/json." });
  }
}
