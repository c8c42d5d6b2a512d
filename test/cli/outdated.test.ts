/** `rampart check --outdated`: the summary of `npm outdated --json`, and that it never fails the check. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { formatOutdated, outdatedReport, parseOutdated } from "../../src/cli/outdated.ts";

describe("rampart check --outdated", () => {
  it("counts packages behind and majors, sorted by name", () => {
    const entries = parseOutdated(
      JSON.stringify({
        "fast-check": { current: "4.10.2", wanted: "4.11.0", latest: "4.11.0" },
        "@types/node": { current: "20.19.43", wanted: "20.19.43", latest: "26.6.7" },
        missing: { wanted: "1.2.0", latest: "2.0.0" },
      }),
    );
    assert.deepEqual(
      entries.map((e) => [e.name, e.major]),
      [["@types/node", true], ["fast-check", false], ["missing", true]],
    );
    const text = formatOutdated(entries);
    assert.match(text, /^3 packages behind, 2 majors\n/);
    assert.match(text, /@types\/node 20\.19\.43 → wanted 20\.19\.43, latest 26\.6\.7 \(major\)/);
    assert.match(text, /missing \(not installed\)/);
    assert.equal(formatOutdated(parseOutdated("")), "0 packages behind, 0 majors");
    assert.equal(formatOutdated(parseOutdated("{}")), "0 packages behind, 0 majors");
  });

  it("says so, without throwing, where there is no package.json or npm gives no report", () => {
    const dir = mkdtempSync(join(tmpdir(), "rampart-outdated-"));
    try {
      assert.match(outdatedReport(dir), /no package\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(() => parseOutdated('{"error":{"summary":"offline"}}'), /offline/);
  });
});
