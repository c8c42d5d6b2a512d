import { parseArgs } from "node:util";
import { loadConfig } from "../../config/load.ts";
import { formatFindings, runDeployChecks } from "../../config/deploy-checks.ts";
import { createLogger } from "../../http/logger.ts";
import type { Command } from "../usage.ts";

export const serveCommand: Command = {
  name: "serve",
  summary: "start the Rampart API server (what `npm start` runs)",
  help: `Usage: rampart serve

Starts the reference server: identity, admin API, notes, operations endpoints, and the admin
console at /console.
Configuration comes from RAMPART_CONFIG (JSON or YAML) and the environment:
  HOST, PORT                 where to listen (default 127.0.0.1:8080)
  RAMPART_ENV                development (default) or production
  RAMPART_DATA_DIR           embedded database and development keys (default ./data)
  DATABASE_URL               postgres://… to use PostgreSQL instead of embedded SQLite
  REDIS_URL                  redis://… to share limits and revocations across instances
  RAMPART_CORS_ORIGINS       comma-separated exact origins allowed cross-origin
  RAMPART_TRUSTED_PROXIES    comma-separated proxy IPs/CIDRs whose forwarding headers are believed
  RAMPART_REGISTRATION       open or closed
  RAMPART_CONSOLE            on (default) or off: the admin console at /console
In production mode the server refuses to start on unsafe configuration
(see \`rampart check --deploy\`). SIGTERM/SIGINT shut down gracefully.`,
  async run(args) {
    parseArgs({ args, options: {}, strict: true, allowPositionals: false });
    const config = loadConfig();
    if (config.production) {
      const errors = runDeployChecks(config).filter((f) => f.severity === "error");
      if (errors.length > 0) {
        console.error(`rampart: refusing to start in production mode:\n${formatFindings(errors)}`);
        return 1;
      }
    }
    const logger = createLogger(config);
    const server = await (await import("../../server/compose.ts")).composeServer(config, logger);
    const { handleSignals, listen } = await import("../../server/lifecycle.ts");
    handleSignals(server, config);
    const address = await listen(server, config);
    // One write, so a reader that sees the first line sees the whole banner.
    console.log([`rampart listening on ${address}`, ...server.banner.map((line) => `  ${line}`)].join("\n"));
    return -1; // keep running
  },
};
