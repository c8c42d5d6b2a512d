/**
 * Stage 3, CORS, via @fastify/cors. Origins are compared exactly against the allowlist: no regexes,
 * no suffix matching (so `https://app.example.com.evil.test` and `https://evilapp.example.com` are
 * strangers), and the literal `null` origin (sandboxed frames, file: pages) is never allowed. An origin
 * that is not allowed gets no CORS header at all, not even on its preflight.
 */
import cors, { type FastifyCorsOptions } from "@fastify/cors";
import type { ResolvedConfig } from "../../config/resolve.ts";

export const CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

export function isOriginAllowed(allowed: ReadonlySet<string>, origin: string | undefined): boolean {
  if (!origin || origin === "null") return false;
  return allowed.has("*") || allowed.has(origin);
}

export function corsOptions(config: ResolvedConfig): FastifyCorsOptions {
  const allowed = new Set(config.cors.origins);
  return {
    hook: "onRequest",
    origin(origin, callback) {
      if (!isOriginAllowed(allowed, origin)) return callback(null, false);
      callback(null, allowed.has("*") ? "*" : (origin as string));
    },
    credentials: config.cors.credentials,
    methods: CORS_METHODS,
    allowedHeaders: [...config.cors.allowedHeaders],
    exposedHeaders: [...config.cors.exposedHeaders],
    maxAge: config.cors.maxAgeSeconds,
    strictPreflight: true,
    preflight: true,
  };
}

export { cors as corsPlugin };
