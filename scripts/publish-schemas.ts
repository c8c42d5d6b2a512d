/**
 * `npm run schema`: writes every published schema and the configuration reference from their sources
 * (src/config/schema.ts, src/gateway/policy-schema.ts); tests fail while any written file is stale.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { renderSchema, SCHEMA_PATH } from "../src/config/publish-schema.ts";
import { REFERENCE_PATH, renderReference } from "../src/config/reference.ts";
import { POLICY_SCHEMA_PATH, renderPolicySchema } from "../src/gateway/policy-schema.ts";

for (const [path, text] of [
  [SCHEMA_PATH, renderSchema()],
  [REFERENCE_PATH, renderReference()],
  [POLICY_SCHEMA_PATH, renderPolicySchema()],
] as const) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}
