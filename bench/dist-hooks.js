/**
 * Module resolve hook for the `-compiled` benchmark servers (registered by dist-loader.js). Such a server
 * is bench/servers/<name>.ts compiled by tsc into .tmp/bench-compiled/ (bench/tsconfig.compiled.json);
 * its imports of Rampart's modules (`../../src/….js`) are sent here to the same modules in dist/, the
 * package build (`npm run build`) that production runs. So every Rampart module the server executes is
 * the build's output, run by plain node: no tsx, no esbuild transform, no loader on the hot path.
 */
const ROOT = new URL("../", import.meta.url).href;
const COMPILED_SRC = `${ROOT}.tmp/bench-compiled/src/`;
const DIST = `${ROOT}dist/`;

export async function resolve(specifier, context, nextResolve) {
  if (context.parentURL && (specifier.startsWith("./") || specifier.startsWith("../"))) {
    const target = new URL(specifier, context.parentURL).href;
    if (target.startsWith(COMPILED_SRC)) return nextResolve(DIST + target.slice(COMPILED_SRC.length), context);
  }
  return nextResolve(specifier, context);
}
