import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ENV_KEYS } from "../../src/config/env-keys.ts";
import { validateConfig } from "../../src/config/load.ts";
import { listSettings, REFERENCE_PATH, REGENERATE_COMMAND, renderReference } from "../../src/config/reference.ts";
import { ConfigSchema } from "../../src/config/schema.ts";

type Node = { type?: string; description?: string; properties?: Record<string, Node> };

/** Every node of the schema below the root, by dotted key path. */
function walk(node: Node, path: string[] = []): [string, Node][] {
  return Object.entries(node.properties ?? {}).flatMap(([key, child]) => {
    const childPath = [...path, key];
    return [[childPath.join("."), child] as [string, Node], ...walk(child, childPath)];
  });
}

function firstDifference(a: string, b: string): string {
  const left = a.split("\n");
  const right = b.split("\n");
  const line = left.findIndex((text, i) => text !== right[i]);
  const at = line === -1 ? left.length : line;
  return `line ${at + 1}: file has ${JSON.stringify(left[at] ?? "")}, schema gives ${JSON.stringify(right[at] ?? "")}`;
}

describe("configuration reference (docs/configuration.md)", () => {
  it("is up to date with src/config/schema.ts", () => {
    let onDisk = "";
    try {
      onDisk = readFileSync(REFERENCE_PATH, "utf8");
    } catch {
      assert.fail(`${REFERENCE_PATH} is missing: run \`${REGENERATE_COMMAND}\` and commit the result`);
    }
    const expected = renderReference();
    if (onDisk !== expected) {
      assert.fail(`${REFERENCE_PATH} is stale (${firstDifference(onDisk, expected)}): run \`${REGENERATE_COMMAND}\` and commit the result`);
    }
  });

  it("has a row for every setting of the schema", () => {
    const keys = listSettings().map((s) => s.key);
    // Top-level sections are headings, not rows; top-level scalars are grouped first, so compare as sets.
    const expected = walk(ConfigSchema as unknown as Node).filter(([key, node]) => key.includes(".") || !node.properties);
    assert.deepEqual([...keys].sort(), expected.map(([key]) => key).sort());
    for (const key of keys) assert.ok(renderReference().includes(`| \`${key}\` |`), `no row for ${key}`);
  });

  it("shows the defaults the loader applies", () => {
    const defaults = validateConfig({}) as unknown as Record<string, unknown>;
    for (const setting of listSettings()) {
      const applied = setting.key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], defaults);
      if (setting.default === undefined) assert.equal(applied, undefined, `${setting.key} has no default in the reference`);
      else if (setting.type !== "object") assert.deepEqual(applied, JSON.parse(setting.default), `${setting.key}: default`);
    }
  });

  it("names the environment variable of each setting the loader reads from the environment, and no other", () => {
    const fromLoader = new Map(ENV_KEYS.map((e) => [e.path.join("."), e.name]));
    const shown = new Map(listSettings().filter((s) => s.env).map((s) => [s.key, s.env?.split(" ")[0]]));
    assert.deepEqual(shown, fromLoader);
    // The schema's descriptions (shown in load errors) mention "(env: NAME)"; they must agree too.
    for (const [key, node] of walk(ConfigSchema as unknown as Node)) {
      const mentioned = /\(env: ([A-Z_]+)/.exec(node.description ?? "")?.[1];
      assert.equal(mentioned, fromLoader.get(key), `${key}: description says env ${mentioned}, the loader reads ${fromLoader.get(key)}`);
    }
  });
});
