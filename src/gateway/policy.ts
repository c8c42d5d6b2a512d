/**
 * The gateway policy file (CONTRACT.md "Gateway mode"), loaded once, loudly: every problem stops
 * start-up with every issue listed, each naming its JSON pointer (`/routes/2/match`). Nothing is
 * defaulted silently and nothing is repaired.
 *
 * Decisions:
 * - Methods are case-sensitive (RFC 9110 §9.1): `get` is an error, not `GET`. Allowed: GET, HEAD, POST,
 *   PUT, PATCH, DELETE, OPTIONS (no TRACE, no CONNECT).
 * - GET implies HEAD, with the same checks: Fastify exposes HEAD for GET routes and Django/Flask answer
 *   HEAD from the GET view, and a HEAD reveals what a GET does (status, headers), so it must never be
 *   left to a different, possibly weaker, rule. A later `HEAD` rule for the same path is unreachable.
 * - Rule paths are written decoded and must be paths canonicalizeTarget() accepts (no `%`, no `?`):
 *   they are matched against the decoded canonical path. A `:param` is a whole segment; `*` only as a
 *   whole final segment (`/files/*`), since Fastify's `/files*` would also admit `/files-internal`.
 * - A rule that can never match for some method because an earlier rule matches every such request
 *   (an identical duplicate, or `GET /api/*` before `GET /api/admin`) is an error naming both indexes:
 *   the later rule's stricter checks would silently never apply.
 * - Permissions must be granted by some role through a grant naming their resource (isGrantable with an
 *   empty catalogue): `*` (admin) does not count, so a typo is an error, not an admin-only route.
 * - `body.maxBytes` defaults to 1 MiB ({@link DEFAULT_BODY_MAX_BYTES}); the gateway should also cap at the
 *   server's `limits.bodyBytes`. A body schema written in the policy must compile with Ajv (with
 *   ajv-formats) and may not use an unknown `format` (it would silently not be checked). A schema taken
 *   from `openapi` may: OpenAPI formats are open-ended annotations (drf-spectacular's `decimal`).
 * - `openapi` is resolved relative to the policy file (to the working directory for an inline policy);
 *   its paths are matched structurally (`{id}` = `:id`, names ignored) exactly as written under `paths`
 *   (`servers` prefixes are not applied). If the methods of one rule have different JSON request-body
 *   schemas, the rule must be split or given `body.schema`.
 * - In a JSON policy a duplicated key is an error (JSON.parse keeps the last one: `"auth"` twice could
 *   make a rule public); YAML duplicates are refused by the parser.
 */
import { readFileSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { Value } from "@sinclair/typebox/value";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import YAML from "yaml";
import { BUILTIN_ROLES, isGrantable, parseRequiredPermission, type RoleTable, validateRoleTable } from "../core/authz/index.ts";
import { parsePolicy } from "../core/ratelimit/index.ts";
import { canonicalizeTarget } from "./path.ts";
import { type PolicyInput, PolicySchema, type RuleInput } from "./policy-schema.ts";

// ajv-formats ships CommonJS with a default export property.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

export const GATEWAY_METHODS = Object.freeze(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const);
export type GatewayMethod = (typeof GATEWAY_METHODS)[number];

/** `body.maxBytes` when a rule has a body schema but no size: the server's default body limit. */
export const DEFAULT_BODY_MAX_BYTES = 1048576;

export interface CompiledRule {
  /** Position in the file's `routes`, for logs and errors. */
  index: number;
  /** Upper case, in GATEWAY_METHODS order; GET brings HEAD. */
  methods: readonly string[];
  /** Fastify syntax as written: `/api/orders/:id`, `/static/*`. Matched against the decoded canonical path. */
  path: string;
  auth: "public" | "required";
  permissions: readonly string[];
  limits: readonly string[];
  body?: { maxBytes: number; schema?: object; schemaSource?: "policy" | "openapi" };
}

export interface CompiledPolicy {
  audience?: string;
  /** Built-in roles plus the policy's. */
  roles: RoleTable;
  rules: readonly CompiledRule[];
  /** The file it came from, or `<inline>`. */
  source: string;
}

export interface PolicyIssue {
  /** JSON pointer into the policy: `/routes/2/match`; `/` for the whole document. */
  key: string;
  message: string;
}

/** A policy that cannot be used: every issue names its key and what is wrong. */
export class PolicyError extends Error {
  constructor(
    readonly issues: PolicyIssue[],
    readonly source = "<inline>",
  ) {
    super(`invalid gateway policy ${source}:\n${issues.map((i) => `  ${i.key}: ${i.message}`).join("\n")}`);
    this.name = "PolicyError";
  }
}

/**
 * Reads and compiles a policy file, YAML (`.yaml`, `.yml`) or JSON (`.json`).
 * @throws PolicyError when the file cannot be read or parsed, or the policy is invalid.
 * @example loadPolicyFile("policy.yaml").rules[0] // { index: 0, methods: ["GET", "HEAD"], path: "/api/health", auth: "public", … }
 */
export function loadPolicyFile(path: string): CompiledPolicy {
  const parsed = readDocument(path);
  if ("problem" in parsed) throw new PolicyError([{ key: "/", message: parsed.problem }], path);
  return compilePolicy(parsed.value, path);
}

/**
 * Validates and compiles a parsed policy. `source` names it in errors and is the base of a relative
 * `openapi` path (the working directory when absent).
 * @throws PolicyError listing every issue.
 */
export function compilePolicy(input: unknown, source?: string): CompiledPolicy {
  const name = source ?? "<inline>";
  const issues: PolicyIssue[] = [];
  for (const error of Value.Errors(PolicySchema, input)) {
    // A missing key is reported once ("required property"), not again as "expected array, got nothing".
    if (error.value === undefined && !/required/i.test(error.message)) continue;
    issues.push({ key: error.path || "/", message: describe(error.message, error.value, error.schema) });
  }
  if (!isObject(input)) throw new PolicyError(issues, name);
  const broken = (pointer: string) => issues.some((i) => i.key === pointer || i.key.startsWith(`${pointer}/`));
  const policy = input as Partial<PolicyInput>;

  const roles = compileRoles(policy.roles, broken, issues);
  // Grantability is only judged against a table without errors (no cascade of follow-on issues).
  const rolesValid = !broken("/roles");
  const openapi = typeof policy.openapi === "string" ? loadOpenApi(policy.openapi, source, issues) : undefined;
  const checkSchema = createSchemaChecker();

  const rules: CompiledRule[] = [];
  const patterns: Segment[][] = [];
  (Array.isArray(policy.routes) ? policy.routes : []).forEach((rule, index) => {
    if (broken(`/routes/${index}`)) return;
    const compiled = compileRule(rule, index, { roles, rolesValid, openapi, checkSchema }, issues);
    if (compiled) {
      rules.push(compiled.rule);
      patterns.push(compiled.pattern);
    }
  });
  findUnreachable(rules, patterns, issues);

  if (issues.length > 0) throw new PolicyError(dedupe(issues), name);
  return deepFreeze({
    ...(policy.audience === undefined ? {} : { audience: policy.audience }),
    roles,
    rules,
    source: name,
  });
}

// --- roles ---------------------------------------------------------------------------------------

function compileRoles(input: Record<string, string[]> | undefined, broken: (pointer: string) => boolean, issues: PolicyIssue[]): RoleTable {
  const table: Record<string, readonly string[]> = { ...BUILTIN_ROLES };
  for (const [role, grants] of Object.entries(isObject(input) ? input : {})) {
    const key = `/roles/${pointerEscape(role)}`;
    if (broken(key)) continue;
    if (Object.hasOwn(BUILTIN_ROLES, role)) {
      issues.push({ key, message: `"${role}" is a built-in role and cannot be redefined; choose another name` });
      continue;
    }
    let ok = true;
    try {
      validateRoleTable({ [role]: [] });
    } catch (error) {
      issues.push({ key, message: detailOf(error) });
      ok = false;
    }
    (Array.isArray(grants) ? grants : []).forEach((grant, i) => {
      try {
        validateRoleTable({ x: [grant] });
      } catch (error) {
        issues.push({ key: `${key}/${i}`, message: detailOf(error).replace(/^role "x": /, "") });
        ok = false;
      }
    });
    if (ok && Array.isArray(grants)) table[role] = [...grants];
  }
  return table;
}

// --- rules ---------------------------------------------------------------------------------------

/** A compiled path segment: literal text, a `:param`, or the final `*`. */
type Segment = { kind: "literal"; text: string } | { kind: "param" } | { kind: "rest" };

interface RuleContext {
  roles: RoleTable;
  rolesValid: boolean;
  openapi: OpenApi | undefined;
  checkSchema: SchemaChecker;
}

function compileRule(rule: RuleInput, index: number, ctx: RuleContext, issues: PolicyIssue[]): { rule: CompiledRule; pattern: Segment[] } | undefined {
  const at = `/routes/${index}`;
  const before = issues.length;
  const match = parseMatch(rule.match);
  if (typeof match === "string") issues.push({ key: `${at}/match`, message: match });

  const auth = rule.auth ?? "required";
  const permissions = rule.permissions ?? [];
  if (auth === "public" && permissions.length > 0) {
    issues.push({ key: `${at}/permissions`, message: "a public rule cannot require permissions: remove them, or remove `auth: public`" });
  }
  permissions.forEach((permission, i) => {
    try {
      parseRequiredPermission(permission);
    } catch (error) {
      issues.push({ key: `${at}/permissions/${i}`, message: detailOf(error) });
      return;
    }
    if (ctx.rolesValid && !isGrantable(permission, ctx.roles, [])) {
      issues.push({
        key: `${at}/permissions/${i}`,
        message: `permission "${permission}" is granted by no role (built-in or under /roles); a typo? (wildcard grants such as admin's "*" do not count)`,
      });
    }
  });

  const limits = rule.limits ?? [];
  limits.forEach((limit, i) => {
    try {
      parsePolicy("gateway", limit);
    } catch (error) {
      issues.push({ key: `${at}/limits/${i}`, message: (error as Error).message });
    }
  });

  let body: CompiledRule["body"];
  if (rule.body?.schema !== undefined) {
    const problem = ctx.checkSchema(rule.body.schema, true);
    if (problem) issues.push({ key: `${at}/body/schema`, message: problem });
    body = { maxBytes: rule.body.maxBytes ?? DEFAULT_BODY_MAX_BYTES, schema: structuredClone(rule.body.schema), schemaSource: "policy" };
  } else if (typeof match !== "string" && ctx.openapi) {
    const found = ctx.openapi.requestSchema(match.methods, match.pattern);
    if (typeof found === "string") issues.push({ key: at, message: found });
    else if (found) {
      const problem = ctx.checkSchema(found, false);
      if (problem) issues.push({ key: at, message: `request body schema from ${ctx.openapi.file}: ${problem}` });
      body = { maxBytes: rule.body?.maxBytes ?? DEFAULT_BODY_MAX_BYTES, schema: found, schemaSource: "openapi" };
    }
  }
  if (!body && rule.body) body = { maxBytes: rule.body.maxBytes ?? DEFAULT_BODY_MAX_BYTES };

  if (issues.length > before || typeof match === "string") return undefined;
  return {
    rule: { index, methods: match.methods, path: match.path, auth, permissions: [...permissions], limits: [...limits], ...(body ? { body } : {}) },
    pattern: match.pattern,
  };
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `"METHOD[,METHOD…] /path"` → methods, path and pattern, or what is wrong with it. */
function parseMatch(text: string): { methods: string[]; path: string; pattern: Segment[] } | string {
  const parts = /^(\S+)\s+(\S+)$/.exec(text);
  if (!parts) return `expected "METHOD[,METHOD…] /path", e.g. "GET /api/orders" or "POST,PATCH /api/orders/:id", got ${JSON.stringify(text)}`;
  const [, methodList, path] = parts as unknown as [string, string, string];

  const methods = new Set<string>();
  for (const method of methodList.split(",")) {
    if (method === "") return `empty method in ${JSON.stringify(methodList)}`;
    if (!(GATEWAY_METHODS as readonly string[]).includes(method)) {
      return (GATEWAY_METHODS as readonly string[]).includes(method.toUpperCase())
        ? `methods are case-sensitive (RFC 9110 §9.1): write "${method.toUpperCase()}", not "${method}"`
        : `unknown method "${method}": expected one of ${GATEWAY_METHODS.join(", ")}`;
    }
    if (methods.has(method)) return `duplicate method "${method}"`;
    methods.add(method);
  }
  if (methods.has("GET")) methods.add("HEAD");

  if (!path.startsWith("/")) return `the path must start with "/", got ${JSON.stringify(path)}`;
  if (path.includes("%")) return "write the path decoded, without percent-encoding: rules match the decoded path";
  if (path.includes("?")) return "a rule path has no query string";
  const pattern: Segment[] = [];
  const names = new Set<string>();
  const raw = path.split("/").slice(1);
  for (const [i, segment] of raw.entries()) {
    if (segment === "*") {
      if (i !== raw.length - 1) return `"*" must be the last segment of the path`;
      pattern.push({ kind: "rest" });
    } else if (segment.includes("*")) {
      return `"*" only as a whole final segment ("/files/*"): ${JSON.stringify(segment)} would also admit paths that merely start with it`;
    } else if (segment.startsWith(":")) {
      const name = segment.slice(1);
      if (name === "") return "empty parameter name";
      if (!PARAM_NAME.test(name)) return `parameter ${JSON.stringify(segment)} must be a whole segment named [A-Za-z_][A-Za-z0-9_]* (no regex, no two parameters in a segment)`;
      if (names.has(name)) return `duplicate parameter ":${name}"`;
      names.add(name);
      pattern.push({ kind: "param" });
    } else if (segment.includes(":")) {
      return `":" only at the start of a segment: Fastify would read ${JSON.stringify(segment)} as a parameter`;
    } else {
      pattern.push({ kind: "literal", text: segment });
    }
  }
  // A rule must never describe a path that the gateway refuses as ambiguous (it could never match,
  // or worse, match something other than what it says).
  const sample = `/${raw.map((s) => (s === "*" || s.startsWith(":") ? "x" : s)).join("/")}`;
  const canonical = canonicalizeTarget(sample);
  if (!canonical.ok) return `the path is ambiguous and would never be forwarded: ${canonical.reason}`;
  if (canonical.path !== sample) return "the path is not in canonical form";
  return { methods: GATEWAY_METHODS.filter((m) => methods.has(m)), path, pattern };
}

/** Whether every path `later` matches is matched by `earlier` (`:param` = one non-empty segment, `*` = the rest). */
function covers(earlier: readonly Segment[], later: readonly Segment[]): boolean {
  for (let i = 0; ; i++) {
    const a = earlier[i];
    const b = later[i];
    if (a === undefined) return b === undefined;
    if (a.kind === "rest") return b !== undefined;
    if (b === undefined || b.kind === "rest") return false;
    if (a.kind === "param") {
      if (b.kind === "literal" && b.text === "") return false;
      continue;
    }
    if (b.kind !== "literal" || b.text !== a.text) return false;
  }
}

function findUnreachable(rules: readonly CompiledRule[], patterns: readonly Segment[][], issues: PolicyIssue[]) {
  rules.forEach((later, j) => {
    for (let i = 0; i < j; i++) {
      const earlier = rules[i] as CompiledRule;
      const shadowed = later.methods.filter((m) => earlier.methods.includes(m));
      if (shadowed.length === 0 || !covers(patterns[i] as Segment[], patterns[j] as Segment[])) continue;
      const same = covers(patterns[j] as Segment[], patterns[i] as Segment[]);
      const what = `${shadowed.join(",")} ${later.path}`;
      issues.push({
        key: `/routes/${later.index}/match`,
        message: same
          ? `${what} duplicates rule ${earlier.index} (${earlier.methods.join(",")} ${earlier.path}): rule ${later.index} can never match it`
          : `${what} can never match: rule ${earlier.index} (${earlier.methods.join(",")} ${earlier.path}) matches every such request first`,
      });
    }
  });
}

// --- body schemas --------------------------------------------------------------------------------

/** Whether Ajv (as the gateway configures it) compiles a schema; unknown formats refused when `strictFormats`. */
type SchemaChecker = (schema: object, strictFormats: boolean) => string | undefined;

function createSchemaChecker(): SchemaChecker {
  let warnings: string[] = [];
  const logger = { log() {}, warn: (...args: unknown[]) => warnings.push(args.join(" ")), error() {} };
  const ajv = addFormats(new Ajv({ strict: false, logger }));
  return (schema, strictFormats) => {
    warnings = [];
    try {
      ajv.compile(schema);
    } catch (error) {
      return `not a usable JSON Schema: ${(error as Error).message}`;
    } finally {
      // One instance for the whole policy: forget each schema so two rules may share an $id.
      ajv.removeSchema(schema);
    }
    const unknownFormat = warnings.find((w) => w.includes("unknown format"));
    if (strictFormats && unknownFormat) return `${unknownFormat}: it would not be checked; remove it or use a known format`;
    return undefined;
  };
}

interface OpenApi {
  file: string;
  /** The JSON request-body schema shared by these methods' operations, undefined when none, or a problem. */
  requestSchema(methods: readonly string[], pattern: readonly Segment[]): object | string | undefined;
}

function loadOpenApi(file: string, source: string | undefined, issues: PolicyIssue[]): OpenApi | undefined {
  const path = resolve(source ? dirname(source) : process.cwd(), file);
  const parsed = readDocument(path);
  if ("problem" in parsed) {
    issues.push({ key: "/openapi", message: parsed.problem });
    return undefined;
  }
  const doc = parsed.value;
  if (!isObject(doc) || typeof doc.openapi !== "string" || !doc.openapi.startsWith("3.") || !isObject(doc.paths)) {
    issues.push({ key: "/openapi", message: `${path} is not an OpenAPI 3 document (needs "openapi": "3.x" and "paths")` });
    return undefined;
  }
  // Structural key: "{id}" and ":id" both become ":"; paths with partial templates ("/{a}.{b}") never match.
  const byShape = new Map<string, [string, Record<string, unknown>]>();
  for (const [template, item] of Object.entries(doc.paths as Record<string, unknown>)) {
    const segments = template.split("/").slice(1);
    if (segments.some((s) => s.includes("{") && !/^\{[^{}]+\}$/.test(s))) continue;
    if (isObject(item)) byShape.set(segments.map((s) => (s.startsWith("{") ? ":" : `=${s}`)).join("/"), [template, item]);
  }
  return {
    file,
    requestSchema(methods, pattern) {
      if (pattern.some((s) => s.kind === "rest")) return undefined;
      const shape = pattern.map((s) => (s.kind === "param" ? ":" : `=${(s as { text: string }).text}`)).join("/");
      const entry = byShape.get(shape);
      if (!entry) return undefined;
      const [template, item] = entry;
      const found: { method: string; raw: string; schema: object }[] = [];
      for (const method of methods) {
        try {
          const operation = deref(doc, item[method.toLowerCase()]);
          const body = isObject(operation) ? deref(doc, operation.requestBody) : undefined;
          const content = isObject(body) && isObject(body.content) ? body.content["application/json"] : undefined;
          const schema = isObject(content) ? content.schema : undefined;
          if (schema === undefined) continue;
          if (!isObject(schema)) return `${method} ${template}: the application/json schema in ${file} is not an object`;
          found.push({ method, raw: JSON.stringify(schema), schema: standalone(doc, schema) });
        } catch (error) {
          return `${method} ${template} in ${file}: ${(error as Error).message}`;
        }
      }
      const first = found[0];
      if (!first) return undefined;
      const other = found.find((f) => f.raw !== first.raw);
      if (other) return `${first.method} and ${other.method} ${template} have different request body schemas in ${file}: split the rule, or give it body.schema`;
      return first.schema;
    },
  };
}

/** Follows a local `$ref` (OpenAPI allows them for operations' requestBody too). */
function deref(doc: Record<string, unknown>, node: unknown, depth = 0): unknown {
  if (!isObject(node) || typeof node.$ref !== "string") return node;
  if (depth > 16) throw new Error(`$ref chain too long at ${node.$ref}`);
  return deref(doc, resolvePointer(doc, node.$ref), depth + 1);
}

/**
 * A self-contained copy of an OpenAPI schema: every local `$ref` (`#/components/schemas/Order`) is
 * copied under `$defs` and pointed at there, so recursive schemas stay finite.
 */
function standalone(doc: Record<string, unknown>, schema: Record<string, unknown>): object {
  const defs: Record<string, unknown> = {};
  const names = new Map<string, string>();
  const taken = new Set(isObject(schema.$defs) ? Object.keys(schema.$defs) : []);
  const refTo = (ref: string): string => {
    let name = names.get(ref);
    if (name === undefined) {
      const target = resolvePointer(doc, ref);
      const base = (ref.split("/").pop() ?? "def").replace(/[^A-Za-z0-9_.-]/g, "_") || "def";
      name = base;
      for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
      taken.add(name);
      names.set(ref, name);
      defs[name] = copy(target);
    }
    return `#/$defs/${name}`;
  };
  const copy = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(copy);
    if (!isObject(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      // defineProperty: a "__proto__" key from JSON.parse stays a plain key, never a prototype.
      const next = key === "$ref" && typeof value === "string" ? refTo(value) : copy(value);
      Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  const root = copy(schema) as Record<string, unknown>;
  if (Object.keys(defs).length > 0) root.$defs = { ...(isObject(root.$defs) ? root.$defs : {}), ...defs };
  return root;
}

function resolvePointer(doc: Record<string, unknown>, ref: string): unknown {
  if (!ref.startsWith("#/")) throw new Error(`only local $refs ("#/components/…") are supported, got ${JSON.stringify(ref)}`);
  let node: unknown = doc;
  for (const part of ref.slice(2).split("/")) {
    const key = decodeURIComponent(part).replaceAll("~1", "/").replaceAll("~0", "~");
    node = isObject(node) && Object.hasOwn(node, key) ? node[key] : Array.isArray(node) ? node[Number(key)] : undefined;
    if (node === undefined) throw new Error(`$ref ${JSON.stringify(ref)} points at nothing`);
  }
  return node;
}

// --- files ---------------------------------------------------------------------------------------

function readDocument(path: string): { value: unknown } | { problem: string } {
  const ext = extname(path).toLowerCase();
  if (![".yaml", ".yml", ".json"].includes(ext)) return { problem: `${path}: expected a .yaml, .yml or .json file` };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    return { problem: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}` };
  }
  try {
    if (ext !== ".json") return { value: YAML.parse(text) };
    const value: unknown = JSON.parse(text);
    const duplicate = findDuplicateKey(text);
    return duplicate === undefined ? { value } : { problem: `${path}: duplicate key at ${duplicate} (JSON.parse would silently keep the last one)` };
  } catch (error) {
    return { problem: `${path} is not valid ${ext === ".json" ? "JSON" : "YAML"}: ${(error as Error).message}` };
  }
}

/** The JSON pointer of the first duplicated object key in `text` (already known to be valid JSON). */
function findDuplicateKey(text: string): string | undefined {
  type Frame = { keys: Set<string> | undefined; path: string; key: string; index: number; expectKey: boolean };
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack.at(-1);
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return `${top.path}/${pointerEscape(key)}`;
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === "{" || c === "[") {
      const path = top ? `${top.path}/${top.keys ? pointerEscape(top.key) : top.index}` : "";
      stack.push({ keys: c === "{" ? new Set() : undefined, path, key: "", index: 0, expectKey: c === "{" });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === "," && top) {
      if (top.keys) top.expectKey = true;
      else top.index++;
    }
  }
  return undefined;
}

// --- helpers -------------------------------------------------------------------------------------

function describe(message: string, value: unknown, schema: { description?: string; anyOf?: { const?: unknown }[] }): string {
  const choices = schema.anyOf?.every((s) => s.const !== undefined) ? schema.anyOf.map((s) => s.const) : undefined;
  if (choices) message = `expected one of ${choices.join(", ")}`;
  if (message === "Unexpected property") message = "unknown key (a typo? every object in a policy is closed)";
  const shown = value === undefined ? "nothing" : JSON.stringify(value);
  return `${message.charAt(0).toLowerCase()}${message.slice(1)}, got ${shown && shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}`;
}

function dedupe(issues: PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(`${i.key}\n${i.message}`) && seen.add(`${i.key}\n${i.message}`));
}

function detailOf(error: unknown): string {
  return (error as { detail?: string }).detail ?? (error as Error).message;
}

function pointerEscape(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
