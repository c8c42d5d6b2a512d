/**
 * The published JSON Schema of the config file, rendered from src/config/schema.ts. `npm run schema`
 * (scripts/publish-schemas.ts) writes it; a test keeps the file in sync.
 */
import { ConfigSchema } from "./schema.ts";

export const SCHEMA_PATH = "schema/rampart.config.schema.json";

export function renderSchema(): string {
  const schema = relaxDefaulted(structuredClone(ConfigSchema));
  return `${JSON.stringify({ $schema: "https://json-schema.org/draft/2020-12/schema", ...schema }, null, 2)}\n`;
}

/** In a file every key with a default may be left out: drop those from `required`. */
function relaxDefaulted(node: Record<string, unknown>): Record<string, unknown> {
  const properties = node.properties as Record<string, Record<string, unknown>> | undefined;
  if (properties) {
    for (const child of Object.values(properties)) relaxDefaulted(child);
    const required = (node.required as string[] | undefined)?.filter((key) => properties[key]?.default === undefined);
    if (required && required.length > 0) node.required = required;
    else delete node.required;
  }
  return node;
}
