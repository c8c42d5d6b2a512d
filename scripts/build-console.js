#!/usr/bin/env node
/**
 * Builds the admin console's static files (console/ → dist/console-ui/): the page, one script bundled
 * and minified by esbuild from console/src/main.ts, one stylesheet. Run by `npm run build` (so by
 * `npm ci` and `npm pack`); the servers only read the result, they never build at run time.
 *
 * The page loads nothing else: no CDN, no inline script or style, so the console's CSP can be
 * `script-src 'self'; style-src 'self'` with no exceptions.
 */
import { copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SOURCE = join(ROOT, "console");
export const CONSOLE_OUT = join(ROOT, "dist", "console-ui");

/** Bundles the console; returns the size in bytes of each file written (for the README figure). */
export async function buildConsole(outdir = CONSOLE_OUT) {
  // esbuild is a devDependency: only a checkout builds the console, an installed package ships it built.
  const { build } = await import("esbuild");
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(join(outdir, "assets"), { recursive: true });
  await build({
    entryPoints: { console: join(SOURCE, "src", "main.ts"), "console-style": join(SOURCE, "console.css") },
    outdir: join(outdir, "assets"),
    entryNames: "[name]",
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2022", "chrome110", "firefox110", "safari16"],
    platform: "browser",
    legalComments: "none",
    logLevel: "warning",
  });
  copyFileSync(join(SOURCE, "index.html"), join(outdir, "index.html"));
  const sizes = {};
  for (const file of ["index.html", "assets/console.js", "assets/console-style.css"]) sizes[file] = statSync(join(outdir, file)).size;
  return sizes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildConsole().then(
    (sizes) => {
      for (const [file, size] of Object.entries(sizes)) console.log(`dist/console-ui/${file}  ${(size / 1024).toFixed(1)} KiB`);
    },
    (error) => {
      console.error(`build-console: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
