import { parseArgs } from "node:util";
import { loadConfig } from "../../config/load.ts";
import { type DeployContext, formatFindings, runDeployChecks } from "../../config/deploy-checks.ts";
import { outdatedReport } from "../outdated.ts";
import type { Command } from "../usage.ts";

export const checkCommand: Command = {
  name: "check",
  summary: "validate the configuration; with --deploy, list what production mode would refuse",
  help: `Usage: rampart check [--deploy] [--outdated]

Loads the configuration exactly as \`rampart serve\` would (RAMPART_CONFIG and the environment) and
reports problems without starting anything. With a gateway configured (RAMPART_UPSTREAM, RAMPART_POLICY)
it also compiles the policy file and reports its problems by rule.
  --deploy   also run the deploy checks as if RAMPART_ENV=production: each finding has an id,
             a reason and the fix. Exits 1 when any error-level finding remains.
  --outdated also run \`npm outdated --json\` in the current directory (when it has a package.json)
             and print "n packages behind, m majors" with the list. Informational: it never
             changes the exit code.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { deploy: { type: "boolean", default: false }, outdated: { type: "boolean", default: false } },
      strict: true,
    });
    const status = await check(values.deploy);
    if (values.outdated) console.log(outdatedReport(process.cwd()));
    return status;
  },
};

async function check(deploy: boolean): Promise<number> {
  const config = loadConfig();
  console.log(`configuration is valid (mode: ${config.env})`);
  let gatewayRules: DeployContext["gatewayRules"];
  if (config.gateway.policy || config.gateway.upstream) {
    const { assertGatewayConfig } = await import("../../gateway/compose.ts");
    const { loadPolicyFile } = await import("../../gateway/policy.ts");
    assertGatewayConfig(config);
    const policy = loadPolicyFile(config.gateway.policy as string);
    gatewayRules = policy.rules;
    console.log(`gateway policy is valid: ${policy.source}, ${policy.rules.length} rule${policy.rules.length === 1 ? "" : "s"}`);
  }
  if (!deploy) return 0;
  const production = loadConfig({ overrides: { env: "production" } });
  const findings = runDeployChecks(production, { gatewayRules });
  console.log(formatFindings(findings));
  return findings.some((f) => f.severity === "error") ? 1 : 0;
}
