import { RampartError } from "../errors.ts";

/** Every verification failure: one client-facing code, the operator-only `reason` for the log. */
export function invalidToken(reason: string, cause?: unknown): RampartError {
  return new RampartError("RAMPART_ERR_INVALID_TOKEN", cause === undefined ? { reason } : { reason, cause });
}
