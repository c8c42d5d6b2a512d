/** fast-check generators for permissions, over a small alphabet so grants and requirements collide often. */
import fc from "fast-check";

export const word = fc.constantFrom("notes", "users", "read", "write", "any", "a", "b-c", "x_1");
export const segment = fc.oneof(word, fc.constant("*"));

/** A grant: `*`, or two or three segments any of which may be `*`. */
export const grant = fc.oneof(
  fc.constant("*"),
  fc.array(segment, { minLength: 2, maxLength: 3 }).map((s) => s.join(":")),
);

/** A concrete required permission. */
export const required = fc.array(word, { minLength: 2, maxLength: 3 }).map((s) => s.join(":"));

/**
 * The oracle for a set of grants (compilePermissions): `patternOracle`, plus a concrete `r:a:any` includes
 * `r:a` (acting on anyone's objects implies acting on one's own; with a `*` resource or action it does not).
 */
export function oracle(grantText: string, requiredText: string): boolean {
  if (patternOracle(grantText, requiredText)) return true;
  const parts = grantText.split(":");
  return parts.length === 3 && parts[2] === "any" && parts[0] !== "*" && parts[1] !== "*" && requiredText === `${parts[0]}:${parts[1]}`;
}

/**
 * The oracle for one grant against one requirement (`matches`), written independently of the
 * implementation: a grant as a regular expression, `*` being one segment, a trailing `*` one or more.
 */
export function patternOracle(grantText: string, requiredText: string): boolean {
  const parts = grantText.split(":");
  const last = parts.length - 1;
  const source = parts
    .map((p, i) => (p !== "*" ? p.replace(/[-_]/g, "\\$&") : i === last ? "[^:]+(?::[^:]+)*" : "[^:]+"))
    .join(":");
  return new RegExp(`^${source}$`).test(requiredText);
}
