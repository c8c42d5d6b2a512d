/**
 * Live limits (metrics:read): the 429s by policy and the failed sign-in steps by reason, read from the
 * Prometheus text of GET /metrics every 5 seconds while the page is shown, with the change since the
 * previous reading.
 */
import type { View } from "../context.ts";
import { fill, h } from "../dom.ts";
import { button, clearError, dataTable, errorSlot, pageHeading, showError } from "../ui.ts";

const REFRESH_MS = 5000;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

/**
 * The samples of counter `metric` summed by the value of `label` (other labels, their order, comments,
 * and other metrics are ignored).
 */
export function countersBy(text: string, metric: string, label: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of text.split("\n")) {
    const sample = SAMPLE.exec(line.trim());
    if (!sample || sample[1] !== metric) continue;
    const value = Number(sample[3]);
    if (!Number.isFinite(value)) continue;
    let key: string | undefined;
    for (const [, name, raw] of (sample[2] ?? "").matchAll(LABEL)) if (name === label) key = unescapeLabel(raw ?? "");
    if (key === undefined) continue;
    totals.set(key, (totals.get(key) ?? 0) + value);
  }
  return totals;
}

function clock(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

interface Row {
  key: string;
  total: number;
  change: number | undefined;
}

function rows(now: Map<string, number>, before: Map<string, number> | undefined): Row[] {
  return [...now.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, total]) => ({ key, total, change: before ? total - (before.get(key) ?? 0) : undefined }));
}

function counterTable(caption: string, keyLabel: string, data: Row[], empty: string): HTMLElement {
  const change = (r: Row) => (r.change === undefined ? "—" : r.change > 0 ? h("strong", { class: "up" }, `+${r.change}`) : String(r.change));
  return dataTable(
    caption,
    [
      { label: keyLabel, cell: (r) => h("code", null, r.key) },
      { label: "Total", cell: (r) => String(r.total) },
      { label: "Change", cell: change },
    ],
    data,
    empty,
  );
}

export const liveView: View = (root, context) => {
  let previous: { limited: Map<string, number>; failures: Map<string, number> } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let paused = false;
  let lastError = "";
  const updated = h("p", { class: "muted" }, "Loading…");
  const error = errorSlot();
  const tables = h("div", { class: "list" });
  const pause = button("Pause updates", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume updates" : "Pause updates";
    if (!paused) void refresh();
  });

  async function refresh(): Promise<void> {
    clearTimeout(timer);
    try {
      const text = await context.api.text("/metrics");
      if (stopped) return;
      const now = {
        limited: countersBy(text, "rampart_rate_limited_total", "policy"),
        failures: countersBy(text, "rampart_login_failures_total", "reason"),
      };
      fill(
        tables,
        counterTable("Requests refused by rate limits, by policy", "Policy", rows(now.limited, previous?.limited), "No request has been rate limited."),
        counterTable("Failed sign-in steps, by reason", "Reason", rows(now.failures, previous?.failures), "No failed sign-in steps."),
      );
      previous = now;
      updated.textContent = `Last updated ${clock(new Date())}. Change is since the previous update; updates every 5 seconds.`;
      lastError = "";
      clearError(error);
    } catch (failure) {
      if (stopped) return;
      // Announce a failure once, not every 5 seconds while it lasts.
      const message = failure instanceof Error ? failure.message : "";
      if (message !== lastError) showError(context.notices, error, failure);
      lastError = message;
    }
    if (!stopped && !paused) timer = setTimeout(() => void refresh(), REFRESH_MS);
  }

  fill(root, pageHeading("Live limits"), h("div", { class: "toolbar" }, updated, pause), error, tables);
  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
};
