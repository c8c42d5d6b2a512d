/**
 * `rampart check --outdated`: what `npm outdated --json` says about the project in a directory, as a
 * summary ("n packages behind, m majors") and a list. Informational only: it never fails the check.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export interface OutdatedEntry {
  name: string;
  current: string | undefined;
  wanted: string | undefined;
  latest: string | undefined;
  major: boolean;
}

const majorOf = (version: string | undefined) => {
  const match = /^(\d+)\./.exec(version ?? "");
  return match ? Number(match[1]) : undefined;
};

/** Parses `npm outdated --json` (an object keyed by package; a list of entries per package in workspaces). */
export function parseOutdated(json: string): OutdatedEntry[] {
  const text = json.trim();
  if (!text) return [];
  const report = JSON.parse(text) as Record<string, unknown>;
  if (typeof report !== "object" || report === null || Array.isArray(report)) throw new Error("not an npm outdated report");
  if ("error" in report) throw new Error(String((report.error as { summary?: string })?.summary ?? "npm outdated failed"));
  const entries: OutdatedEntry[] = [];
  for (const [name, value] of Object.entries(report)) {
    for (const info of (Array.isArray(value) ? value : [value]) as { current?: string; wanted?: string; latest?: string }[]) {
      const current = info.current;
      const from = majorOf(current ?? info.wanted);
      const to = majorOf(info.latest);
      entries.push({ name, current, wanted: info.wanted, latest: info.latest, major: from !== undefined && to !== undefined && to > from });
    }
  }
  return entries.sort((a, b) => a.name.localeCompare(b.name));
}

export function formatOutdated(entries: readonly OutdatedEntry[]): string {
  const majors = entries.filter((e) => e.major).length;
  const lines = [`${entries.length} package${entries.length === 1 ? "" : "s"} behind, ${majors} major${majors === 1 ? "" : "s"}`];
  for (const e of entries) {
    lines.push(`  ${e.name} ${e.current ?? "(not installed)"} → wanted ${e.wanted ?? "?"}, latest ${e.latest ?? "?"}${e.major ? " (major)" : ""}`);
  }
  return lines.join("\n");
}

/** Runs `npm outdated --json` in `dir`; returns the text to print (never throws). */
export function outdatedReport(dir: string): string {
  if (!existsSync(join(dir, "package.json"))) return `outdated: no package.json in ${dir}; nothing to compare`;
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  // npm outdated exits 1 whenever something is behind: the exit code says nothing, the JSON does.
  const run = spawnSync(npm, ["outdated", "--json"], { cwd: dir, encoding: "utf8", timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  if (run.error) return `outdated: could not run npm outdated: ${run.error.message}`;
  try {
    return `outdated: ${formatOutdated(parseOutdated(run.stdout))}`;
  } catch (error) {
    const reason = (error as Error).message || run.stderr.trim().split("\n").at(-1) || `exit ${run.status}`;
    return `outdated: npm outdated gave no report (${reason})`;
  }
}
