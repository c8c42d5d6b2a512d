/**
 * The shipped list of common and breached passwords (see README.md beside it), loaded once into a Set
 * the first time it is needed. Entries are NFKC-normalised and lowercased, so lookups are too.
 */
import { readFileSync } from "node:fs";

// Module-level on purpose: immutable data from a shipped file, shared by every instance, read once.
let common: ReadonlySet<string> | undefined;

function load(): ReadonlySet<string> {
  const text = readFileSync(new URL("./common-passwords.txt", import.meta.url), "utf8");
  const set = new Set(text.split("\n"));
  set.delete("");
  return set;
}

/** Loads the list now (e.g. at start-up) rather than on the first registration. Returns its size. */
export function preloadCommonPasswords(): number {
  common ??= load();
  return common.size;
}

/** `candidate` must already be normalised and lowercased. */
export function isCommonPassword(candidate: string): boolean {
  common ??= load();
  return common.has(candidate);
}
