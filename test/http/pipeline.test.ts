import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PIPELINE_ORDER } from "../../src/http/pipeline.ts";

describe("pipeline", () => {
  it("keeps the documented order: cheap refusals first, the body parsed last", () => {
    assert.deepEqual(PIPELINE_ORDER, [
      "transport",
      "headers",
      "cors",
      "limit-client",
      "authenticate",
      "csrf",
      "limit-principal",
      "authorize",
    ]);
  });
});
