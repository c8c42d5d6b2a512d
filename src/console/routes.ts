/**
 * The admin console: three static files built at package time (scripts/build-console.js) and served
 * from memory at `/console` with a CSP that allows nothing but this origin's script and stylesheet. The
 * console holds no privilege of its own: it signs in with a cookie session and calls the public admin
 * API, whose permission checks and CSRF stage apply to it like to any other client.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { RampartError } from "../core/errors.ts";

/** No inline script or style, no eval, no framing, no form posts: the page only talks to its own origin. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** dist/console-ui/ of this package, from src/console/ (tsx) and dist/console/ (the package) alike. */
export const CONSOLE_ASSETS_DIR = new URL("../../dist/console-ui/", import.meta.url);

interface ConsoleFile {
  /** Under dist/console-ui/. */
  path: string;
  /** Where it is served, under the console's mount point. */
  url: string;
  type: string;
  /** The page must be revalidated on every visit; the script and stylesheet too, but by ETag. */
  cacheControl: string;
}

const FILES: readonly ConsoleFile[] = [
  { path: "index.html", url: "/console", type: "text/html; charset=utf-8", cacheControl: "no-store" },
  { path: "assets/console.js", url: "/console/assets/console.js", type: "text/javascript; charset=utf-8", cacheControl: "no-cache" },
  { path: "assets/console-style.css", url: "/console/assets/console-style.css", type: "text/css; charset=utf-8", cacheControl: "no-cache" },
];

interface LoadedFile extends ConsoleFile {
  body: Buffer;
  etag: string;
}

export interface ConsoleRoutesOptions {
  /** Where the built files are (default: dist/console-ui of this package). */
  assetsDir?: URL;
}

/** Reads the built files once; `undefined` when they are missing (a checkout that was never built). */
export function loadConsoleFiles(dir: URL = CONSOLE_ASSETS_DIR): LoadedFile[] | undefined {
  try {
    return FILES.map((file) => {
      const body = readFileSync(new URL(file.path, dir));
      return { ...file, body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` };
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

const ROUTE_CONFIG = { rampart: { auth: "public" as const, produces: ["*/*"] } };

export function consoleRoutes(options: ConsoleRoutesOptions = {}) {
  return async function routes(app: FastifyInstance) {
    const files = loadConsoleFiles(options.assetsDir);
    // In this scope only: the API keeps its `default-src 'none'` policy.
    app.addHook("onSend", (_request, reply, payload, done) => {
      reply.header("content-security-policy", CONSOLE_CSP);
      // A page, unlike the API's JSON: no window it opens (or that opens it) may keep a handle on it.
      reply.header("cross-origin-opener-policy", "same-origin");
      done(null, payload);
    });
    if (!files) {
      app.log.warn({ code: "RAMPART_WARN_CONSOLE_NOT_BUILT" }, "the admin console's files are not built (dist/console-ui): run `npm run build`");
    }
    const notBuilt = () => {
      throw new RampartError("RAMPART_ERR_NOT_FOUND", { detail: "The admin console is not built on this installation: run `npm run build`." });
    };
    const serve = (file: LoadedFile) => (request: FastifyRequest, reply: FastifyReply) => {
      reply.header("cache-control", file.cacheControl).header("etag", file.etag).type(file.type);
      if (request.headers["if-none-match"] === file.etag) return reply.code(304).send();
      return reply.send(file.body);
    };
    const schema = { hide: true } as object;
    for (const [index, file] of FILES.entries()) {
      const loaded = files?.[index];
      app.get(file.url, { config: ROUTE_CONFIG, schema }, loaded ? serve(loaded) : notBuilt);
    }
    // The page's asset URLs are relative to /console; /console/ would resolve them one level too deep.
    app.get("/console/", { config: ROUTE_CONFIG, schema }, (request, reply) => {
      const to = request.url.replace(/\/console\/(\?.*)?$/, "/console");
      return reply.redirect(to, 308);
    });
  };
}
