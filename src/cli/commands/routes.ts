import { parseArgs } from "node:util";
import pino from "pino";
import { loadConfig } from "../../config/load.ts";
import { formatRouteTable } from "../../http/route-security.ts";
import type { Command } from "../usage.ts";

export const routesCommand: Command = {
  name: "routes",
  summary: "print every route with who may call it: auth, credential kinds, permissions, route limits",
  help: `Usage: rampart routes [--json]

Builds the server exactly as \`rampart serve\` would (without listening) and prints its route table:
method, path, whether it is public or which credential kinds it accepts, the permissions it requires
and its own rate limits (on top of the per-IP and per-principal defaults).
  --json   print the table as JSON`,
  async run(args) {
    const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } }, strict: true });
    const config = loadConfig();
    const server = await (await import("../../server/compose.ts")).composeServer(config, pino({ level: "silent" }));
    try {
      await server.app.ready();
      const table = server.app.rampartRoutes();
      console.log(values.json ? JSON.stringify(table, null, 2) : formatRouteTable(table));
      return 0;
    } finally {
      await server.close();
    }
  },
};
