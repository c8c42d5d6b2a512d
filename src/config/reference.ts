/**
 * Renders docs/configuration.md from the one schema (`npm run schema` writes it next to the JSON
 * Schema; a test keeps it in sync): one row per setting with its key path, type, default, constraints,
 * environment variable and description, grouped by top-level section.
 */
import { ENV_KEYS } from "./env-keys.ts";
import { ConfigSchema } from "./schema.ts";

export const REFERENCE_PATH = "docs/configuration.md";
export const REGENERATE_COMMAND = "npm run schema";

/** One row of the reference. */
export interface Setting {
  /** Dotted key path, e.g. `rateLimit.perIp`. */
  readonly key: string;
  readonly type: string;
  /** The default as JSON, or undefined when the key has no fixed default. */
  readonly default: string | undefined;
  readonly constraints: string[];
  /** The environment variable that sets it, if any. */
  readonly env: string | undefined;
  readonly description: string;
}

interface Section {
  readonly key: string | undefined;
  readonly title: string;
  readonly description: string | undefined;
  readonly settings: Setting[];
}

type Node = Record<string, unknown> & {
  type?: string;
  properties?: Record<string, Node>;
  items?: Node;
  anyOf?: Node[];
  const?: unknown;
  default?: unknown;
  description?: string;
  title?: string;
};

/** JSON Schema keywords shown in the constraints column, in this order. */
const CONSTRAINTS = ["minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "format", "minItems", "maxItems"];

/** The loader's ENV_KEYS by dotted key path. */
const ENV_BY_KEY = new Map(ENV_KEYS.map((e) => [e.path.join("."), e.name]));

/** Every setting of the schema in schema order, nested objects flattened to dotted paths. */
export function listSettings(): Setting[] {
  return sections().flatMap((s) => s.settings);
}

function sections(): Section[] {
  const root = ConfigSchema as unknown as Node;
  const top: Section = { key: undefined, title: "Top level", description: "Server, storage and proxy settings.", settings: [] };
  const grouped: Section[] = [top];
  for (const [key, node] of Object.entries(root.properties ?? {})) {
    if (isSection(node)) {
      const section: Section = { key, title: node.title ?? key, description: node.description, settings: [] };
      collect(node, [key], section.settings);
      grouped.push(section);
    } else {
      top.settings.push(setting([key], node));
    }
  }
  return grouped.filter((s) => s.settings.length > 0);
}

function isSection(node: Node): boolean {
  return node.type === "object" && node.properties !== undefined;
}

function collect(node: Node, path: string[], into: Setting[]) {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const childPath = [...path, key];
    if (isSection(child)) {
      // A nested group (https.hsts, passwords.argon2) gets a row of its own for its description.
      into.push(setting(childPath, child));
      collect(child, childPath, into);
    } else {
      into.push(setting(childPath, child));
    }
  }
}

function setting(path: string[], node: Node): Setting {
  const key = path.join(".");
  const env = ENV_BY_KEY.get(key);
  return {
    key,
    type: typeOf(node),
    default: node.default === undefined ? undefined : json(node.default),
    constraints: constraintsOf(node),
    env: env && node.type === "array" ? `${env} (comma-separated)` : env,
    // The env column says it; the description (also used in load errors) repeats it as "(env: …)".
    description: (node.description ?? "").replace(/\s*\(env: [^)]*\)/g, "").trim(),
  };
}

function typeOf(node: Node): string {
  if (node.anyOf?.every((choice) => "const" in choice)) return `one of ${node.anyOf.map((c) => code(String(c.const))).join(", ")}`;
  if (node.anyOf) return node.anyOf.map(typeOf).join(" or ");
  if (node.type === "array") return node.items ? `${bare(typeOf(node.items))}[]` : "array";
  return node.type ?? "any";
}

/** Array item types are written `string[]`, so no code span around the item type. */
function bare(type: string): string {
  return type.includes(" ") ? `(${type})` : type;
}

function constraintsOf(node: Node): string[] {
  const own = CONSTRAINTS.filter((k) => node[k] !== undefined).map((k) => (k === "pattern" ? `pattern ${code(String(node[k]))}` : `${k} ${node[k]}`));
  if (node.type === "array" && node.items) own.push(...constraintsOf(node.items).map((c) => `each item ${c}`));
  return own;
}

/** JSON, with a space after each comma of a list so that long defaults can wrap in a table. */
function json(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(json).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${JSON.stringify(k)}: ${json(v)}`).join(", ")} }`;
  }
  return JSON.stringify(value);
}

function code(text: string): string {
  return text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** A table cell: no line breaks, and `|` escaped (GitHub honours `\|` inside code spans in tables). */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|");
}

function row(s: Setting): string {
  const cells = [
    code(s.key),
    s.type,
    s.default === undefined ? "—" : code(s.default),
    s.constraints.join(", ") || "—",
    s.env ? s.env.replace(/^(\S+)/, (name) => code(name)) : "—",
    s.description,
  ];
  return `| ${cells.map(cell).join(" | ")} |`;
}

const PREAMBLE = `# Configuration reference

<!-- Generated from src/config/schema.ts by \`${REGENERATE_COMMAND}\`. Do not edit: change the schema and run the command. -->

> This file is generated from the configuration schema, \`src/config/schema.ts\`, by \`${REGENERATE_COMMAND}\`
> (which also writes [\`schema/rampart.config.schema.json\`](../schema/rampart.config.schema.json)).
> Do not edit it by hand: \`npm test\` fails while it is out of date.

## Giving options

Every setting below has one key path and is checked against the same schema however it is given.
Unknown keys are errors, never ignored, and an invalid value stops start-up with a message naming the
key, the problem and the expected form. A key path such as \`rateLimit.perIp\` stands for nested
objects: \`{ "rateLimit": { "perIp": [...] } }\`. Leave a key out to get its default.

**Config file.** \`RAMPART_CONFIG\` names a file holding one object: YAML when the name ends in \`.yaml\` or
\`.yml\`, JSON otherwise. The \`rampart\` command (\`rampart serve\`, \`rampart check\`, …) reads it. For
editor completion, associate the file with \`schema/rampart.config.schema.json\` in the editor's settings
or, in YAML, with a \`# yaml-language-server: $schema=…\` comment (a \`$schema\` key in the file is an
unknown key).

\`\`\`yaml
# RAMPART_CONFIG=./rampart.yaml rampart serve
dataDir: ./data
rateLimit:
  perIp: ["600/minute burst 100"]
\`\`\`

**Environment variables.** The variables in the *environment* column set their key on top of the config
file (default < file < environment). List values are comma-separated; an empty variable counts as unset.

\`\`\`sh
PORT=3000 RAMPART_CORS_ORIGINS=https://app.example.com,https://admin.example.com rampart serve
\`\`\`

**Fastify plugin options.** The plugin takes the same keys as one options object, with the same
validation and errors naming the key:

\`\`\`js
app.register(rampart, { dataDir: "./data", rateLimit: { perIp: ["600/minute burst 100"] } });
\`\`\`

Besides these settings the plugin's options hold \`roles\` (application roles and their permissions),
\`identity\` (\`false\`, or \`{ prefix }\`: where the identity and admin routes are mounted) and \`verify\`
(\`{ jwks, issuer, audience }\`: verify-only mode); see the README.

In the tables, a default of "—" means the key has no fixed default: the description says what happens
when it is left out.
`;

/** The whole of docs/configuration.md. */
export function renderReference(): string {
  const parts = [PREAMBLE];
  for (const section of sections()) {
    const heading = section.key === undefined ? section.title : `${section.title} (\`${section.key}\`)`;
    parts.push(`## ${heading}\n`);
    if (section.description) parts.push(`${section.description}\n`);
    const table = ["| key | type | default | constraints | environment | description |", "|---|---|---|---|---|---|", ...section.settings.map(row)];
    parts.push(`${table.join("\n")}\n`);
  }
  return parts.join("\n");
}
