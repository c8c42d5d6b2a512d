import { parseArgs } from "node:util";
import pino from "pino";
import { loadConfig } from "../../config/load.ts";
import { formatRouteTable } from "../../http/route-security.ts";
import type { Command } from "../usage.ts";

export const routesCommand: Command = {
  name: "routes",
  summary: "print every route with who may call it: auth, credential kinds, permissions, route limits",
  help: `Usage: rampart routes [--json]

Builds the server exactly as \`rampart serve\` would (or, when a gateway policy is configured with
RAMPART_POLICY, as \`rampart gateway\` would: its own routes and one row per policy rule), without
listening, and prints its route table:
method, path, whether it is public or which credential kinds it accepts, the permissions it requires
and its own rate limits (on top of the per-IP and per-principal defaults).
  --json   print the table as JSON`,
  async run(args) {
    const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } }, strict: true });
    const config = loadConfig();
    const silent = pino({ level: "silent" });
    const server = config.gateway.policy ? await gatewayServer(config, silent) : await (await import("../../server/compose.ts")).composeServer(config, silent);
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

async function gatewayServer(config: import("../../config/resolve.ts").ResolvedConfig, logger: pino.Logger) {
  const { composeGateway } = await import("../../gateway/compose.ts");
  const { loadPolicyFile } = await import("../../gateway/policy.ts");
  return composeGateway(config, logger, loadPolicyFile(config.gateway.policy as string));
}
