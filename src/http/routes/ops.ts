/** Liveness and readiness: public, cheap, and revealing nothing beyond up/down per dependency. */
import type { FastifyInstance } from "fastify";
import { Type as T } from "@sinclair/typebox";
import { withTimeout } from "../../core/timeout.ts";

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const READY_TIMEOUT_MS = 2000;

export async function opsRoutes(app: FastifyInstance, options: { readiness: ReadinessCheck[]; prefix?: string }) {
  app.get(
    "/healthz",
    {
      config: { rampart: { auth: "public" } },
      schema: { response: { 200: T.Object({ status: T.Literal("ok") }) } },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      config: { rampart: { auth: "public" } },
      schema: {
        response: {
          "2xx": T.Object({ status: T.String(), checks: T.Record(T.String(), T.String()) }),
          "5xx": T.Object({ status: T.String(), checks: T.Record(T.String(), T.String()) }),
        },
      },
    },
    async (_request, reply) => {
      const results = await Promise.all(
        options.readiness.map(async ({ name, check }) => {
          try {
            await withTimeout(check(), READY_TIMEOUT_MS, name);
            return [name, "ok"] as const;
          } catch (error) {
            app.log.warn({ err: error, dependency: name }, "readiness check failed");
            return [name, "unavailable"] as const;
          }
        }),
      );
      const ready = results.every(([, state]) => state === "ok");
      reply.code(ready ? 200 : 503);
      return { status: ready ? "ready" : "unavailable", checks: Object.fromEntries(results) };
    },
  );
}
