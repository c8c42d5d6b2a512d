/**
 * OpenAPI 3.1 at `/openapi.json`, Swagger UI at `/docs`, generated from the route declarations: each
 * route's `security` is set by the route registry from its `config.rampart` (credential kinds, with
 * the required permissions listed as the requirement's roles, as OpenAPI 3.1 allows).
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";

export const DOCS_PREFIX = "/docs";
/** The UI page needs its own scripts and styles; everything else keeps `default-src 'none'`. */
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** `prefix`: where the docs live with the other operations routes ("" = at the root). */
export async function registerOpenApi(app: FastifyInstance, prefix = ""): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Rampart reference server",
        version: "0.1.0",
        description: "Identity, authorization, rate limiting and the example notes resource. Errors are application/problem+json (RFC 9457).",
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "Access token from POST /auth/login (RFC 9068)." },
          apiToken: { type: "http", scheme: "bearer", bearerFormat: "rmp_…", description: "API token from POST /auth/tokens; also `Authorization: Token rmp_…`." },
          cookieSession: { type: "apiKey", in: "cookie", name: "__Host-rampart_session", description: "Browser session from POST /auth/login?session=cookie; unsafe methods need X-CSRF-Token." },
        },
      },
    },
  });
  // The UI in a scope of its own, so its relaxed CSP applies to its routes only and no other request
  // pays for the hook.
  await app.register(async (docs) => {
    docs.addHook("onSend", (_request, reply, payload, done) => {
      reply.header("content-security-policy", DOCS_CSP);
      reply.header("cache-control", "no-cache");
      done(null, payload);
    });
    await docs.register(swaggerUi, { routePrefix: `${prefix}${DOCS_PREFIX}`, staticCSP: false, uiConfig: { deepLinking: false } });
  });
  app.get(`${prefix}/openapi.json`, { config: { rampart: { auth: "public" } }, schema: { hide: true } as object }, async () => app.swagger());
}
