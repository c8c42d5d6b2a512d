/** `--scope` options of the CLI (API tokens, service clients): at least one, each a valid permission. */
import { parsePermission } from "../core/authz/index.ts";
import { RampartError } from "../core/errors.ts";
import { UsageError } from "./usage.ts";

/** `command`: what needs the scopes, for the message (e.g. "tokens create"). */
export function parseScopeOptions(command: string, scopes: string[] | undefined): string[] {
  if (!scopes || scopes.length === 0) throw new UsageError(`${command} needs at least one --scope (e.g. --scope notes:read)`);
  return scopes.map((scope) => {
    try {
      return parsePermission(scope).text;
    } catch (error) {
      if (error instanceof RampartError) throw new UsageError(`--scope: ${error.detail}`);
      throw error;
    }
  });
}
