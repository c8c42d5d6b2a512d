/**
 * Compile-time safety of the public types: `tsc --noEmit` on fixture files that use the package as an
 * application would. The correct file compiles; a misspelt route-declaration key, a wrong `auth` value
 * and a misspelt plugin option each fail, at the line of the mistake.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

// typescript's exports map hides bin/; its package folder is where node_modules/.bin points.
const tsc = fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url));
const FLAGS = [
  "--ignoreConfig",
  "--noEmit",
  "--strict",
  "--skipLibCheck",
  "--target",
  "ES2022",
  "--module",
  "NodeNext",
  "--moduleResolution",
  "NodeNext",
  "--allowImportingTsExtensions",
  "--types",
  "node",
];

function compile(fixture: string): { ok: boolean; output: string } {
  const result = spawnSync(process.execPath, [tsc, ...FLAGS, `test/types/fixtures/${fixture}.ts`], { encoding: "utf8" });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

describe("public types", () => {
  it("a correct application compiles (route declaration, typed principal, plugin options)", () => {
    const { ok, output } = compile("declaration-ok");
    assert.ok(ok, output);
  });
  const failing: [string, RegExp][] = [
    ["declaration-typo", /declaration-typo\.ts\(7,/],
    ["declaration-auth", /declaration-auth\.ts\(7,/],
    ["option-typo", /option-typo\.ts\(6,.*rateLimits/s],
  ];
  for (const [fixture, where] of failing) {
    it(`${fixture} does not compile`, () => {
      const { ok, output } = compile(fixture);
      assert.equal(ok, false, `${fixture} compiled but must not`);
      assert.match(output, where);
    });
  }
});
