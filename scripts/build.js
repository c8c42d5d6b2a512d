#!/usr/bin/env node
/**
 * `npm run build` (also run by `prepare`, so `npm ci`, `npm install` in a checkout and `npm pack` build):
 * compiles src/ into dist/ (JavaScript, .d.ts declarations, source maps) with tsconfig.build.json, then
 * copies next to the compiled modules the files src/ reads at run time (`new URL("./x.txt",
 * import.meta.url)`, e.g. core/passwords/common-passwords.txt): every file of src/ that is neither
 * TypeScript nor documentation; and bundles the admin console (scripts/build-console.js → dist/console-ui/).
 *
 * dist/ is emptied first, so a module deleted from src/ never lingers in the package. A type error fails
 * the build (tsc's exit status).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { buildConsole } from "./build-console.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SRC = join(ROOT, "src");
const DIST = join(ROOT, "dist");
/** Extensions that are source or documentation, not run-time assets. */
const NOT_ASSETS = new Set([".ts", ".md"]);

/** The TypeScript compiler of this checkout (devDependency), run with this node. */
export function tscPath() {
  const require = createRequire(import.meta.url);
  let manifest;
  try {
    manifest = require.resolve("typescript/package.json");
  } catch {
    throw new Error("typescript is not installed: run `npm ci` (the build needs the devDependencies)");
  }
  return join(dirname(manifest), require(manifest).bin.tsc);
}

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

export async function build() {
  rmSync(DIST, { recursive: true, force: true });
  const tsc = spawnSync(process.execPath, [tscPath(), "-p", join(ROOT, "tsconfig.build.json")], { cwd: ROOT, stdio: "inherit" });
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${tsc.status ?? tsc.signal})`);
  let copied = 0;
  for (const file of files(SRC)) {
    if (NOT_ASSETS.has(extname(file))) continue;
    const target = join(DIST, relative(SRC, file));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target);
    copied++;
  }
  if (!existsSync(join(DIST, "cli", "entry.js"))) throw new Error("the build produced no dist/cli/entry.js");
  const consoleSizes = await buildConsole();
  return { copied, consoleSizes };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const started = performance.now();
    const { copied, consoleSizes } = await build();
    const consoleBytes = Object.values(consoleSizes).reduce((sum, size) => sum + size, 0);
    console.log(
      `built dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s (${copied} asset file(s) copied; console ${(consoleBytes / 1024).toFixed(1)} KiB)`,
    );
  } catch (error) {
    console.error(`build: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
