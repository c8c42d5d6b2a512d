#!/usr/bin/env node
// The `rampart` command: runs the compiled CLI (dist/) with plain node; no TypeScript loader.
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/entry.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "rampart: dist/ is missing. In a source checkout, build it first: `npm run build` (`npm ci` also builds).\n" +
      "From the TypeScript sources instead: `npx tsx src/cli/entry.ts <command>`.\n",
  );
  process.exit(1);
}
await import(entry.href);
