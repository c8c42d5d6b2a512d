import { parseArgs } from "node:util";
import { formatFindings, runDeployChecks } from "../../config/deploy-checks.ts";
import { loadConfig } from "../../config/load.ts";
import { createLogger } from "../../http/logger.ts";
import type { Command } from "../usage.ts";

export const gatewayCommand: Command = {
  name: "gateway",
  summary: "protect an existing API: identity, limits and policy in front of RAMPART_UPSTREAM",
  help: `Usage: rampart gateway

Puts Rampart in front of an existing HTTP API (Django, Flask, Rails, anything) without touching its code.
Requests that match a rule of the policy file and pass every check (HTTPS, CORS, limits, authentication,
CSRF for cookie sessions, permissions, body size and schema) are forwarded with X-Rampart-User,
X-Rampart-Roles and a signed X-Rampart-Assertion; everything else is refused or 404, and never forwarded.
The gateway also serves the identity, admin and operations routes (login, tokens, /admin/…, /healthz…)
and the admin console (/console; RAMPART_CONSOLE=off removes it).
  RAMPART_UPSTREAM     base URL of the protected API, e.g. http://127.0.0.1:8000 (gateway.upstream)
  RAMPART_POLICY       the policy file, YAML or JSON (gateway.policy; schema/rampart.policy.schema.json)
  gateway.prefix       in RAMPART_CONFIG: serve the gateway's own routes under a prefix, e.g. /_rampart,
                       when the upstream uses /auth/…, /admin/…, /docs or /console itself
Every other knob (HOST, PORT, RAMPART_ENV, RAMPART_DATA_DIR, DATABASE_URL, REDIS_URL, RAMPART_CORS_ORIGINS,
RAMPART_TRUSTED_PROXIES, RAMPART_ALLOWED_HOSTS) means what it means for \`rampart serve\`.
In production mode the gateway refuses to start on unsafe configuration (see \`rampart check --deploy\`).`,
  async run(args) {
    parseArgs({ args, options: {}, strict: true, allowPositionals: false });
    const config = loadConfig();
    const { assertGatewayConfig, composeGateway } = await import("../../gateway/compose.ts");
    assertGatewayConfig(config);
    const { loadPolicyFile } = await import("../../gateway/policy.ts");
    const policy = loadPolicyFile(config.gateway.policy as string);
    if (config.production) {
      const errors = runDeployChecks(config, { gatewayRules: policy.rules }).filter((f) => f.severity === "error");
      if (errors.length > 0) {
        console.error(`rampart: refusing to start in production mode:\n${formatFindings(errors)}`);
        return 1;
      }
    }
    const logger = createLogger(config);
    const server = await composeGateway(config, logger, policy);
    const { handleSignals, listen } = await import("../../server/lifecycle.ts");
    handleSignals(server, config);
    const address = await listen(server, config);
    console.log([`rampart gateway listening on ${address}`, ...server.banner.map((line) => `  ${line}`)].join("\n"));
    return -1; // keep running
  },
};
