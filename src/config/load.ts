/**
 * Loads configuration once, loudly: the file named by RAMPART_CONFIG (JSON or YAML), the environment
 * variables of CONTRACT.md on top, defaults applied, then validated against the one schema. Any problem
 * stops start-up with every issue listed, each naming its key (JSON pointer, or the environment
 * variable it came from), the problem and the expected form. Nothing is ever defaulted silently.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { Value } from "@sinclair/typebox/value";
import YAML from "yaml";
import { type ConfigInput, ConfigSchema } from "./schema.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { resolveConfig, type ResolvedConfig } from "./resolve.ts";
import { ENV_KEYS } from "./env-keys.ts";

export { ConfigError, type ConfigIssue };

type Env = Record<string, string | undefined>;

export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError([{ key: "RAMPART_CONFIG", message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}` }]);
  }
  try {
    return [".yaml", ".yml"].includes(extname(path).toLowerCase()) ? YAML.parse(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError([{ key: "RAMPART_CONFIG", message: `${path} is not valid ${extname(path) || "JSON"}: ${(error as Error).message}` }]);
  }
}

/** Loads, validates and resolves. `env` defaults to process.env; `overrides` win over both (tests). */
export function loadConfig(options: { env?: Env; overrides?: Record<string, unknown> } = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const fromFile = env.RAMPART_CONFIG ? readConfigFile(env.RAMPART_CONFIG) : {};
  if (fromFile === null || typeof fromFile !== "object" || Array.isArray(fromFile)) {
    throw new ConfigError([{ key: "RAMPART_CONFIG", message: "the file must hold one object at its top level" }]);
  }
  const merged = structuredClone(fromFile) as Record<string, unknown>;
  const envByPointer = new Map<string, string>();
  for (const { name, path, parse } of ENV_KEYS) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    setPath(merged, path, parse(raw));
    envByPointer.set(`/${path.join("/")}`, name);
  }
  deepMerge(merged, options.overrides ?? {});
  return resolveConfig(validateConfig(merged, envByPointer));
}

/** Applies defaults and checks the schema; throws ConfigError naming every bad key. */
export function validateConfig(input: unknown, envByPointer = new Map<string, string>()): ConfigInput {
  let withDefaults: unknown;
  let defaulted = true;
  try {
    withDefaults = Value.Default(ConfigSchema, structuredClone(input));
  } catch {
    // TypeBox cannot apply defaults to some malformed values (`{"trustedProxies": {"length": ":"}}`
    // throws RangeError): report the input's own errors instead, minus the absent keys defaults fill.
    withDefaults = structuredClone(input);
    defaulted = false;
  }
  const issues: ConfigIssue[] = [];
  for (const error of Value.Errors(ConfigSchema, withDefaults)) {
    if (!defaulted && error.value === undefined) continue;
    const pointer = error.path || "/";
    const envName = [...envByPointer].find(([p]) => pointer === p || pointer.startsWith(`${p}/`))?.[1];
    issues.push({
      key: envName ? `${envName} (${pointer})` : pointer,
      message: describe(error.message, error.value, error.schema),
    });
  }
  if (issues.length === 0 && !defaulted) issues.push({ key: "/", message: "malformed configuration: defaults cannot be applied" });
  if (issues.length > 0) throw new ConfigError(dedupe(issues));
  return withDefaults as ConfigInput;
}

function describe(message: string, value: unknown, schema: { description?: string; anyOf?: { const?: unknown }[] }): string {
  const choices = schema.anyOf?.every((s) => s.const !== undefined) ? schema.anyOf.map((s) => s.const) : undefined;
  if (choices) message = `expected one of ${choices.join(", ")}`;
  const shown = value === undefined ? "nothing" : JSON.stringify(value);
  const hint = schema.description ? ` (${schema.description})` : "";
  return `${message.toLowerCase()}, got ${shown}${hint}`;
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.key}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown) {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path.at(-1) as string] = value;
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>) {
  for (const [key, value] of Object.entries(source)) {
    // Only own properties are merged into: `target["__proto__"]` is Object.prototype, and merging an
    // override's own `__proto__` key (JSON.parse makes one) into it would pollute every object in the
    // process. Defined as a plain own key instead, the schema then refuses it as an unknown key.
    const existing = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isPlainObject(value) && isPlainObject(existing)) deepMerge(existing, value);
    else Object.defineProperty(target, key, { value: structuredClone(value), enumerable: true, writable: true, configurable: true });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
