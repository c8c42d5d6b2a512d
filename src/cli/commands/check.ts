import { parseArgs } from "node:util";
import { loadConfig } from "../../config/load.ts";
import { type DeployContext, formatFindings, runDeployChecks } from "../../config/deploy-checks.ts";
import type { ResolvedConfig } from "../../config/resolve.ts";
import { type ClientRequestFacts, createClientResolver, normaliseAddress } from "../../core/client.ts";
import { describeClientResolution, summariseClientResolution } from "../../core/client-diagnosis.ts";
import { createClientResolutionRecorder, proxyHeaderFlags } from "../../core/client-recorder.ts";
import { clientResolutionSetup } from "../../http/client-diagnostics.ts";
import { outdatedReport } from "../outdated.ts";
import { type Command, UsageError } from "../usage.ts";

export const checkCommand: Command = {
  name: "check",
  summary: "validate the configuration; with --deploy, list what production mode would refuse",
  help: `Usage: rampart check [--deploy] [--outdated] [--explain-request "peer=IP [header=value]..."]

Loads the configuration exactly as \`rampart serve\` would (RAMPART_CONFIG and the environment) and
reports problems without starting anything. With a gateway configured (RAMPART_UPSTREAM, RAMPART_POLICY)
it also compiles the policy file and reports its problems by rule. It always prints how the client IP
and the scheme (http/https) of a request will be resolved: from the socket, or from a trusted proxy's
forwarding headers (trustedProxies / RAMPART_TRUSTED_PROXIES, proxyHeaders).
  --deploy   also run the deploy checks as if RAMPART_ENV=production: each finding has an id,
             a reason and the fix. Exits 1 when any error-level finding remains.
  --outdated also run \`npm outdated --json\` in the current directory (when it has a package.json)
             and print "n packages behind, m majors" with the list. Informational: it never
             changes the exit code.
  --explain-request "peer=10.0.0.5 x-forwarded-for=203.0.113.9 x-forwarded-proto=https"
             run the server's client resolver on one sample request and print the client IP and
             scheme it gets, whether HTTPS enforcement would refuse it, and the same warnings as
             GET /admin/diagnostics/client-resolution. Fields: peer (the socket address, required),
             tls=true (native TLS), x-forwarded-for, x-forwarded-proto, forwarded; a value may
             contain spaces ("x-forwarded-for=198.51.100.7, 10.0.0.2"). Informational: it never
             changes the exit code.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        deploy: { type: "boolean", default: false },
        outdated: { type: "boolean", default: false },
        "explain-request": { type: "string" },
      },
      strict: true,
    });
    // A malformed sample is a usage error, before anything is loaded.
    const sample = values["explain-request"] === undefined ? undefined : parseSampleRequest(values["explain-request"]);
    const status = await check(values.deploy, sample);
    if (values.outdated) console.log(outdatedReport(process.cwd()));
    return status;
  },
};

async function check(deploy: boolean, sample: ClientRequestFacts | undefined): Promise<number> {
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
  console.log(clientResolutionLines(config).join("\n"));
  if (sample) console.log(explainRequest(config, sample).join("\n"));
  if (!deploy) return 0;
  const production = loadConfig({ overrides: { env: "production" } });
  const findings = runDeployChecks(production, { gatewayRules });
  console.log(formatFindings(findings));
  return findings.some((f) => f.severity === "error") ? 1 : 0;
}

/** How this configuration resolves the client IP and scheme, one line each. */
export function clientResolutionLines(config: ResolvedConfig): string[] {
  const described = describeClientResolution(clientResolutionSetup(config));
  return [`client IP: ${described.clientIp}`, `scheme: ${described.scheme}`, `HTTPS: ${described.https}`];
}

const SAMPLE_FIELDS = ["peer", "tls", "forwarded", "x-forwarded-for", "x-forwarded-proto"] as const;
type SampleField = (typeof SAMPLE_FIELDS)[number];

/**
 * `"peer=10.0.0.5 x-forwarded-for=203.0.113.9, 10.0.0.2 x-forwarded-proto=https"` → the facts the
 * resolver reads. A word that does not start with a known `field=` continues the previous value, so
 * header values may contain spaces.
 * @throws UsageError naming an unknown or repeated field, a missing or invalid peer, a bad tls value.
 */
export function parseSampleRequest(text: string): ClientRequestFacts {
  const fields = new Map<SampleField, string>();
  let current: SampleField | undefined;
  for (const word of text.trim().split(/\s+/).filter((w) => w.length > 0)) {
    const eq = word.indexOf("=");
    const name = (eq > 0 ? word.slice(0, eq).toLowerCase() : "") as SampleField;
    if (eq > 0 && SAMPLE_FIELDS.includes(name)) {
      if (fields.has(name)) throw new UsageError(`--explain-request: "${name}" is given twice`);
      fields.set(name, word.slice(eq + 1));
      current = name;
    } else if (current && (eq <= 0 || current === "forwarded")) {
      // A continuation: "x-forwarded-for=198.51.100.7, 10.0.0.2"; Forwarded's own pairs ("for=…;proto=…").
      fields.set(current, `${fields.get(current)} ${word}`);
    } else {
      throw new UsageError(`--explain-request: unknown field "${eq > 0 ? word.slice(0, eq) : word}"; expected ${SAMPLE_FIELDS.map((f) => `${f}=`).join(", ")}`);
    }
  }
  const peer = fields.get("peer");
  if (!peer) throw new UsageError('--explain-request: "peer=<socket address>" is required, e.g. "peer=10.0.0.5 x-forwarded-for=203.0.113.9"');
  if (!normaliseAddress(peer)) throw new UsageError(`--explain-request: peer must be an IPv4 or IPv6 address, got "${peer}"`);
  const tls = fields.get("tls") ?? "false";
  if (tls !== "true" && tls !== "false") throw new UsageError(`--explain-request: tls must be true or false, got "${tls}"`);
  return {
    socketAddress: peer,
    socketEncrypted: tls === "true",
    forwarded: fields.get("forwarded"),
    xForwardedFor: fields.get("x-forwarded-for"),
    xForwardedProto: fields.get("x-forwarded-proto"),
  };
}

/** Runs the server's resolver on one sample request and says what it got, and what looks wrong. */
export function explainRequest(config: ResolvedConfig, facts: ClientRequestFacts): string[] {
  const setup = clientResolutionSetup(config);
  const client = createClientResolver({ trustedProxies: config.proxies, proxyHeaders: config.proxyHeaders })(facts);
  const peer = normaliseAddress(facts.socketAddress ?? "") ?? String(facts.socketAddress);
  const recorder = createClientResolutionRecorder({ capacity: 1 });
  recorder.record(facts.socketAddress, client, proxyHeaderFlags({ forwarded: facts.forwarded, "x-forwarded-for": facts.xForwardedFor, "x-forwarded-proto": facts.xForwardedProto }));
  const summary = summariseClientResolution(recorder.samples(), setup);
  const lines = [
    `sample request from ${peer}: ${client.viaTrustedProxy ? "a trusted proxy, its forwarding headers are read" : "not a trusted proxy, its forwarding headers are ignored"}`,
    `  client IP: ${client.ip}`,
    `  scheme: ${client.scheme}`,
  ];
  if (client.viaTrustedProxy && client.ip === peer) {
    lines.push("  note: the trusted proxy named no other client (no forwarding header this configuration reads), so the client IP is its own");
  }
  if (setup.httpsEnforced && client.scheme === "http") {
    lines.push(`  HTTPS is enforced: this request would be ${setup.httpsRedirect ? "redirected to https:// (GET/HEAD) or refused with 403" : "refused with 403"}`);
  }
  for (const warning of summary.warnings) lines.push(`WARNING ${warning.code}: ${warning.message}`);
  return lines;
}
