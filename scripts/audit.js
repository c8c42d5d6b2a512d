#!/usr/bin/env node
/**
 * CI's dependency audit: `npm audit --omit=dev --audit-level=high --json`, then one of three outcomes.
 * - The audit ran: exit 1 when any production dependency has a high or critical advisory (listed),
 *   else print the counts and exit 0.
 * - The audit service could not be asked (DNS/connection errors, timeouts, 5xx, or a registry that has
 *   no audit endpoint: 404/405/501): print a loud "AUDIT NOT RUN: <reason>" line and exit 0, so an
 *   outage of the advisory service does not block CI, but nobody can mistake it for a clean audit.
 * - Anything else (an unreadable answer, 401/403, a broken lockfile): exit 1.
 */
import { spawnSync } from "node:child_process";

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const UNREACHABLE = /\b(ENOTFOUND|ECONNREFUSED|ECONNRESET|EAI_AGAIN|ETIMEDOUT|ESOCKETTIMEDOUT|ENETUNREACH|EHOSTUNREACH|socket hang up|network timeout)\b/i;

const run = spawnSync(NPM, ["audit", "--omit=dev", "--audit-level=high", "--json"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
let report;
try {
  report = JSON.parse(run.stdout);
} catch {
  console.error(`FATAL: npm audit gave no JSON report (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  process.exit(1);
}

const counts = report.metadata?.vulnerabilities;
if (counts) {
  const serious = Object.values(report.vulnerabilities ?? {}).filter((v) => v.severity === "high" || v.severity === "critical");
  const summary = ["critical", "high", "moderate", "low", "info"].map((s) => `${counts[s] ?? 0} ${s}`).join(", ");
  console.log(`npm audit (production dependencies): ${summary}`);
  if (serious.length === 0) process.exit(0);
  for (const v of serious) {
    const via = v.via.map((x) => (typeof x === "string" ? x : `${x.title} ${x.url ?? ""}`.trim())).join("; ");
    console.error(`  ${v.severity.toUpperCase()} ${v.name} ${v.range}: ${via}${v.fixAvailable ? " (fix available)" : ""}`);
  }
  console.error(`FATAL: ${serious.length} production dependenc${serious.length === 1 ? "y has" : "ies have"} high or critical advisories`);
  process.exit(1);
}

const message = String(report.message ?? report.error?.summary ?? "");
const status = Number(report.statusCode ?? /^(\d{3}) /.exec(message)?.[1] ?? Number.NaN);
if (UNREACHABLE.test(message) || status >= 500 || status === 404 || status === 405 || status === 501) {
  const line = `AUDIT NOT RUN: the audit service could not be asked: ${message || `exit ${run.status}`}`;
  console.log(`\n${"!".repeat(line.length)}\n${line}\n${"!".repeat(line.length)}\n`);
  process.exit(0);
}
console.error(`FATAL: npm audit failed (exit ${run.status}): ${message || run.stderr}`);
process.exit(1);
