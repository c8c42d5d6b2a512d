/** Reads Prometheus text exposition in tests: one sample's value by metric name and labels. */

/**
 * The value of the first sample of `name` whose labels include every one of `labels`, or undefined
 * when there is none. `name` is the exact series name (`rampart_x_total`, `rampart_x_seconds_count`).
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** Every label value that appears in the exposition, for leak checks. */
export function labelValues(text: string): string[] {
  return [...text.matchAll(/[a-zA-Z_]\w*="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? "");
}
