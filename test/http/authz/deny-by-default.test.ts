/**
 * Deny by default at the framework level (`buildApp`): an undeclared route needs an authenticated
 * caller, a permission nobody could grant (a typo) stops start-up naming the route and the permission,
 * and a public route cannot also require permissions.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { loadConfig } from "../../../src/config/load.ts";
import { compilePermissions } from "../../../src/core/authz/index.ts";
import { buildApp } from "../../../src/http/app.ts";
import type { Principal } from "../../../src/http/request-state.ts";
import type { Authenticator } from "../../../src/http/stages/authenticate.ts";
import { createAuthorizeStage } from "../../../src/http/stages/authorize.ts";
import { assertProblem } from "../../support/identity.ts";

const config = loadConfig({ env: {} });
const silent = () => pino({ level: "silent" });

/** Build and ready an app; the promise rejects with the start-up error. */
async function build(routes: (app: FastifyInstance) => void, extra: Partial<Parameters<typeof buildApp>[0]> = {}): Promise<FastifyInstance> {
  const app = await buildApp({ config, logger: silent(), routes, ...extra });
  await app.ready();
  return app;
}

/** Accepts `Authorization: Bearer let-me-in` as a principal holding only `notes:read`. */
const fakeAuthenticator: Authenticator = {
  authenticate(request) {
    if (request.headers.authorization !== "Bearer let-me-in") return undefined;
    const principal: Principal = {
      userId: "u-1",
      roles: ["reader"],
      via: "bearer",
      credentialId: "t-1",
      permissions: compilePermissions(["notes:read"]),
    };
    return principal;
  },
};

async function buildError(routes: (app: FastifyInstance) => void): Promise<Error> {
  let app: FastifyInstance | undefined;
  try {
    app = await build(routes);
  } catch (error) {
    return error as Error;
  }
  await app.close();
  assert.fail("building the app should have thrown");
}

describe("deny by default", () => {
  it("a route with no config.rampart answers 401 to an anonymous GET, with WWW-Authenticate, and its handler never runs", async () => {
    let runs = 0;
    const app = await build((scope) => {
      scope.get("/undeclared", async () => {
        runs++;
        return { secret: true };
      });
    });
    try {
      for (const method of ["GET", "HEAD"] as const) {
        const response = await app.inject({ method, url: "/undeclared" });
        assert.equal(response.statusCode, 401, `${method}: ${response.body}`);
        assert.match(String(response.headers["www-authenticate"]), /^Bearer\b/);
      }
      assertProblem(await app.inject({ method: "GET", url: "/undeclared" }), 401);
      assert.equal(runs, 0, "the handler never ran");
      const row = app.rampartRoutes().find((r) => r.url === "/undeclared");
      assert.equal(row?.auth, "required", "the route table shows it as requiring authentication");
    } finally {
      await app.close();
    }
  });

  it("an undeclared route runs for an authenticated caller (the positive control)", async () => {
    let runs = 0;
    const app = await build(
      (scope) => {
        scope.get("/undeclared", async () => {
          runs++;
          return { ok: true };
        });
      },
      { authenticator: fakeAuthenticator },
    );
    try {
      assert.equal((await app.inject({ method: "GET", url: "/undeclared" })).statusCode, 401);
      assert.equal(runs, 0);
      const response = await app.inject({ method: "GET", url: "/undeclared", headers: { authorization: "Bearer let-me-in" } });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(runs, 1);
    } finally {
      await app.close();
    }
  });

  it("a route declaring permissions refuses an authenticated caller without them (403) and never runs", async () => {
    let runs = 0;
    const app = await build(
      (scope) => {
        scope.post("/write", { config: { rampart: { permissions: ["notes:write"] } } }, async () => {
          runs++;
          return { written: true };
        });
      },
      { authenticator: fakeAuthenticator, stages: { authorize: createAuthorizeStage() } },
    );
    try {
      assertProblem(await app.inject({ method: "POST", url: "/write", headers: { authorization: "Bearer let-me-in" } }), 403);
      assert.equal(runs, 0);
    } finally {
      await app.close();
    }
  });

  it(
    "declared permissions are enforced even when the app is built without an explicit authorize stage",
    async () => {
      let runs = 0;
      const app = await build(
        (scope) => {
          scope.post("/write", { config: { rampart: { permissions: ["notes:write"] } } }, async () => {
            runs++;
            return { written: true };
          });
        },
        { authenticator: fakeAuthenticator },
      );
      try {
        const response = await app.inject({ method: "POST", url: "/write", headers: { authorization: "Bearer let-me-in" } });
        assert.equal(response.statusCode, 403, response.body);
        assert.equal(runs, 0, "the handler never ran");
      } finally {
        await app.close();
      }
    },
  );

  it("a typo'd permission (note:read) stops the build with an error naming GET /typo and the permission", async () => {
    const error = await buildError((scope) => {
      scope.get("/typo", { config: { rampart: { permissions: ["note:read"] } } }, async () => ({}));
    });
    assert.match(error.message, /GET \/typo/);
    assert.match(error.message, /note:read/);
  });

  it("a malformed permission stops the build too, naming the route", async () => {
    const error = await buildError((scope) => {
      scope.post("/bad", { config: { rampart: { permissions: ["Notes Read"] } } }, async () => ({}));
    });
    assert.match(error.message, /POST \/bad/);
  });

  it("auth: public together with permissions stops the build, naming the route", async () => {
    const error = await buildError((scope) => {
      scope.get("/public-but", { config: { rampart: { auth: "public", permissions: ["notes:read"] } } }, async () => ({}));
    });
    assert.match(error.message, /GET \/public-but/);
    assert.match(error.message, /public/);
  });

  it("an unknown auth value or credential kind stops the build", async () => {
    const badAuth = await buildError((scope) => {
      scope.get("/weird", { config: { rampart: { auth: "anonymous" as unknown as "public" } } }, async () => ({}));
    });
    assert.match(badAuth.message, /GET \/weird/);
    const badKind = await buildError((scope) => {
      scope.get("/kinds", { config: { rampart: { credentials: ["basic" as unknown as "bearer"] } } }, async () => ({}));
    });
    assert.match(badKind.message, /GET \/kinds/);
  });

  it("a public route is served anonymously, and says so in the route table", async () => {
    const app = await build((scope) => {
      scope.get("/open", { config: { rampart: { auth: "public" } } }, async () => ({ ok: true }));
    });
    try {
      assert.equal((await app.inject({ method: "GET", url: "/open" })).statusCode, 200);
      assert.equal(app.rampartRoutes().find((r) => r.url === "/open")?.auth, "public");
    } finally {
      await app.close();
    }
  });
});
