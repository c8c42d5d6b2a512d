/**
 * The request pipeline, in order. The order IS the security argument (cheap refusals first, nothing
 * expensive for an unauthenticated or throttled caller, the body parsed only after stage 8), so it
 * lives here and nowhere else; `test/http/pipeline.test.ts` asserts it.
 *
 * Stages 1–8 run in Fastify's onRequest phase, before the body is read. Each stage returns true to
 * continue, false when it has already replied (a redirect, a preflight), or throws a RampartError.
 * Stage 9 (validate) is Fastify's schema validation with our compiler; 10 is the handler; 11 is the
 * error handler and response serialisation.
 */
import type { FastifyInstance } from "fastify";
import type { PipelineReply, PipelineRequest } from "./stage-io.ts";

export type Stage = (request: PipelineRequest, reply: PipelineReply) => boolean | Promise<boolean>;

/** A chain of stages as one callback-style hook (Fastify's onRequest; the Express adapter's middleware). */
export type StageChain = (request: PipelineRequest, reply: PipelineReply, done: (error?: Error) => void) => void;

export const PIPELINE_ORDER = [
  "transport",
  "headers",
  "cors",
  "limit-client",
  "authenticate",
  "csrf",
  "limit-principal",
  "authorize",
] as const;

export type StageName = (typeof PIPELINE_ORDER)[number];

/** Runs stages in order; stays synchronous (and allocates nothing) until a stage returns a promise. */
export function chain(stages: readonly Stage[]): StageChain {
  function runFrom(index: number, request: PipelineRequest, reply: PipelineReply, done: (error?: Error) => void): void {
    try {
      for (let i = index; i < stages.length; i++) {
        const result = (stages[i] as Stage)(request, reply);
        if (result === false) return;
        if (result !== true) {
          result.then((ok) => (ok ? runFrom(i + 1, request, reply, done) : undefined), done);
          return;
        }
      }
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  }
  return function runStages(request, reply, done) {
    runFrom(0, request, reply, done);
  };
}

/**
 * Installs the pipeline. `cors` is @fastify/cors (a plugin with its own hook), so the stages around it
 * become two hooks registered before and after it; Fastify runs hooks in registration order.
 */
export async function installPipeline(
  app: FastifyInstance,
  stages: Partial<Record<Exclude<StageName, "cors">, Stage>>,
  registerCors: (app: FastifyInstance) => Promise<void>,
): Promise<StageName[]> {
  const installed: StageName[] = [];
  const collect = (names: readonly StageName[]) =>
    names.flatMap((name) => {
      const stage = stages[name as Exclude<StageName, "cors">];
      if (!stage) return [];
      installed.push(name);
      return [stage];
    });
  const corsAt = PIPELINE_ORDER.indexOf("cors");
  app.addHook("onRequest", chain(collect(PIPELINE_ORDER.slice(0, corsAt))));
  await registerCors(app);
  installed.push("cors");
  const after = collect(PIPELINE_ORDER.slice(corsAt + 1));
  if (after.length > 0) app.addHook("onRequest", chain(after));
  return installed;
}
