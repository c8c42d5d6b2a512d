/**
 * The environment variables that set configuration keys: one table, read by the loader (`load.ts`)
 * and by the configuration reference (`reference.ts`), so the two cannot disagree.
 */

/** Environment variable → config path it sets, and how its text becomes a value. */
export interface EnvKey {
  readonly name: string;
  readonly path: readonly string[];
  readonly parse: (raw: string) => unknown;
}

export const ENV_KEYS: readonly EnvKey[] = [
  { name: "HOST", path: ["host"], parse: (v) => v },
  { name: "PORT", path: ["port"], parse: (v) => (/^\d+$/.test(v.trim()) ? Number(v) : v) },
  { name: "RAMPART_ENV", path: ["env"], parse: (v) => v.trim() },
  { name: "RAMPART_DATA_DIR", path: ["dataDir"], parse: (v) => v },
  { name: "DATABASE_URL", path: ["databaseUrl"], parse: (v) => v.trim() },
  { name: "REDIS_URL", path: ["redisUrl"], parse: (v) => v.trim() },
  { name: "RAMPART_CORS_ORIGINS", path: ["cors", "origins"], parse: commaList },
  { name: "RAMPART_TRUSTED_PROXIES", path: ["trustedProxies"], parse: commaList },
  { name: "RAMPART_REGISTRATION", path: ["registration"], parse: (v) => v.trim() },
  { name: "RAMPART_ALLOWED_HOSTS", path: ["allowedHosts"], parse: commaList },
  { name: "RAMPART_UPSTREAM", path: ["gateway", "upstream"], parse: (v) => v.trim() },
  { name: "RAMPART_POLICY", path: ["gateway", "policy"], parse: (v) => v.trim() },
  { name: "RAMPART_CONSOLE", path: ["console", "enabled"], parse: onOff },
];

/** `on`/`off` (also true/false, 1/0, yes/no); anything else is left as text for the schema to refuse by name. */
export function onOff(raw: string): unknown {
  const value = raw.trim().toLowerCase();
  if (["on", "true", "1", "yes"].includes(value)) return true;
  if (["off", "false", "0", "no"].includes(value)) return false;
  return raw;
}

/** `"a, b,,c"` → `["a", "b", "c"]`: list-valued settings are comma-separated in the environment. */
export function commaList(raw: string): string[] {
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
