/**
 * Shared knobs and generators for the fuzz suites.
 *
 * Every property runs with a fixed seed and a small number of runs, so CI is deterministic and cheap.
 * To hunt for bugs by hand, raise the counts (and change the seed to explore elsewhere):
 *
 *   FUZZ_RUNS=20000 node --import tsx --test test/fuzz/parsers.test.ts
 *   FUZZ_HTTP_RUNS=3000 node --import tsx --test test/fuzz/http-routes.test.ts
 *   FUZZ_SEED=123 …                      a different (still reproducible) seed
 *
 * A failure prints fast-check's counterexample and the `seed`/`path` to replay it.
 */
import fc from "fast-check";

function positiveEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new TypeError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** The seed every property uses (FUZZ_SEED overrides it). */
export const FUZZ_SEED = positiveEnv("FUZZ_SEED") ?? 20_250_601;

/** Runs for a parser property: `ciRuns` by default, FUZZ_RUNS when set. */
export function parserRuns(ciRuns: number): { seed: number; numRuns: number } {
  return { seed: FUZZ_SEED, numRuns: positiveEnv("FUZZ_RUNS") ?? ciRuns };
}

/** Runs for an HTTP property: `ciRuns` by default, FUZZ_HTTP_RUNS when set. */
export function httpRuns(ciRuns: number): { seed: number; numRuns: number } {
  return { seed: FUZZ_SEED, numRuns: positiveEnv("FUZZ_HTTP_RUNS") ?? ciRuns };
}

/** Strings an attacker likes: full Unicode, ASCII, control characters, and known-nasty fragments. */
export const nastyString = (maxLength = 64): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: "grapheme", maxLength }),
    fc.string({ unit: "binary", maxLength }),
    fc.constantFrom(
      "",
      " ",
      "\u0000",
      "\r\n",
      "__proto__",
      "constructor",
      "prototype",
      "%00",
      "%2e%2e",
      "..",
      "../",
      "\\",
      "%",
      "%zz",
      "%C0%AE",
      "\uFEFF",
      "\uD800",
      "NaN",
      "-1",
      "1e309",
      "0x10",
      "true",
      "null",
      "'; DROP TABLE users; --",
      "<script>alert(1)</script>",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell probe, literally
      "${jndi:ldap://x}",
      "a".repeat(300),
    ),
  );

interface JsonSchemaLike {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchemaLike[];
  oneOf?: JsonSchemaLike[];
  properties?: Record<string, JsonSchemaLike>;
  patternProperties?: Record<string, JsonSchemaLike>;
  items?: JsonSchemaLike;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  examples?: unknown[];
  default?: unknown;
}

/** Any JSON value, with prototype-ish keys mixed in (what JSON.parse of a hostile file yields). */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '[{"__proto__":null}]')
      .map((text) => JSON.parse(text) as unknown),
  },
);

/**
 * Values shaped by a (TypeBox / JSON) schema: mostly plausible, sometimes wrong in one place. The
 * point is to get past the first "expected object" and exercise the deeper checks and the code after
 * validation, which pure random JSON almost never reaches.
 */
export function fromSchema(schema: JsonSchemaLike, depth = 0, override?: (path: string) => fc.Arbitrary<unknown> | undefined, path = ""): fc.Arbitrary<unknown> {
  const custom = override?.(path);
  if (custom) return custom;
  const garbage = depth > 4 ? fc.constant(null) : hostileJson;
  const plausible = plausibleFor(schema, depth, override, path);
  return fc.oneof({ weight: 9, arbitrary: plausible }, { weight: 1, arbitrary: garbage });
}

function plausibleFor(schema: JsonSchemaLike, depth: number, override: ((path: string) => fc.Arbitrary<unknown> | undefined) | undefined, path: string): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives && alternatives.length > 0) return fc.oneof(...alternatives.map((s) => fromSchema(s, depth + 1, override, path)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const hints: unknown[] = [...(schema.examples ?? []), ...(schema.default === undefined ? [] : [schema.default])];
  const withHints = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
    hints.length > 0 ? fc.oneof(arb as fc.Arbitrary<unknown>, fc.constantFrom(...hints)) : arb;
  switch (type) {
    case "object": {
      const properties = schema.properties ?? {};
      const keys = Object.keys(properties);
      const record =
        keys.length > 0
          ? fc.record(
              Object.fromEntries(keys.map((k) => [k, fromSchema(properties[k] as JsonSchemaLike, depth + 1, override, `${path}/${k}`)])),
              { requiredKeys: [] },
            )
          : fc.constant({});
      const patterned = Object.values(schema.patternProperties ?? {})[0];
      if (!patterned) return record;
      const extra = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/), fromSchema(patterned, depth + 1, override, `${path}/*`), { maxKeys: 3 });
      return fc.tuple(record, extra).map(([a, b]) => ({ ...b, ...(a as object) }));
    }
    case "array":
      return fc.array(schema.items ? fromSchema(schema.items, depth + 1, override, `${path}/0`) : hostileJson, { maxLength: 4 });
    case "integer":
      return withHints(
        fc.oneof(
          fc.integer({ min: schema.minimum ?? -10, max: Math.min(schema.maximum ?? 100_000, 2 ** 31) }),
          fc.constantFrom(0, -1, 1, 2 ** 53, 1.5),
        ),
      );
    case "number":
      return withHints(fc.oneof(fc.double({ noNaN: true }), fc.integer()));
    case "boolean":
      return fc.boolean();
    case "string":
      return withHints(nastyString(Math.min(schema.maxLength ?? 40, 80)));
    case "null":
      return fc.constant(null);
    default:
      return hostileJson;
  }
}
