/**
 * Liveness and readiness: public, cheap, and revealing nothing beyond up/down per dependency. Both are
 * rate limited per IP like any route, but marked as probes: when the shared limiter is down and the
 * failure policy is closed they still answer (a 503 there would make an orchestrator restart healthy
 * processes, and /readyz could not say what is down). Callers of /readyz share the round of checks in
 * flight, so a flood of it is at most one ping per dependency at a time, never a flood of pings.
 */
import type { FastifyInstance } from "fastify";
import { Type as T } from "@sinclair/typebox";
import { withTimeout } from "../../core/timeout.ts";

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const READY_TIMEOUT_MS = 2000;

type Readiness = { ready: boolean; checks: Record<string, "ok" | "unavailable"> };

export async function opsRoutes(app: FastifyInstance, options: { readiness: ReadinessCheck[]; prefix?: string }) {
  async function checkAll(): Promise<Readiness> {
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
    return { ready: results.every(([, state]) => state === "ok"), checks: Object.fromEntries(results) };
  }
  let inFlight: Promise<Readiness> | undefined;
  const readiness = () => {
    inFlight ??= checkAll().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };

  app.get(
    "/healthz",
    {
      config: { rampart: { auth: "public" }, rampartProbe: true },
      schema: { response: { 200: T.Object({ status: T.Literal("ok") }) } },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      config: { rampart: { auth: "public" }, rampartProbe: true },
      schema: {
        response: {
          "2xx": T.Object({ status: T.String(), checks: T.Record(T.String(), T.String()) }),
          "5xx": T.Object({ status: T.String(), checks: T.Record(T.String(), T.String()) }),
        },
      },
    },
    async (_request, reply) => {
      const { ready, checks } = await readiness();
      reply.code(ready ? 200 : 503);
      return { status: ready ? "ready" : "unavailable", checks };
    },
  );
}
