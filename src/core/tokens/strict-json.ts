/**
 * JSON.parse with duplicate member names refused, for JOSE headers and JWT claims sets.
 *
 * RFC 7515 §4 and RFC 7519 §4: a header or claims set with duplicate member names must be rejected
 * (or the last one used — RFC 8725 §3.2 asks us not to take that option). JSON.parse silently keeps the
 * last `sub` or `alg`, while another parser (a WAF, a log pipeline, a second service verifying the same
 * token) may keep the first: two readers of one signed token would see two different callers. No
 * package in the tree detects duplicates (secure-json-parse only strips `__proto__`/`constructor`), so
 * this is a small scanner over text that JSON.parse already accepted. Names are compared after
 * unescaping (`"s\u0075b"` is `sub`), at every depth, including objects nested in arrays.
 */

/** The parsed value, or `duplicate` naming the first member found twice in one object. */
export type StrictJsonResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly duplicate: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * The first member name that occurs twice in one object of `json`, or undefined.
 * `json` must be text JSON.parse accepted: the scan trusts the syntax and only tracks strings and nesting.
 */
export function findDuplicateMember(json: string): string | undefined {
  // One set of names per open object; `null` for an open array (its strings are values, never names).
  const open: Array<Set<string> | null> = [];
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      while (end < json.length && json.charCodeAt(end) !== QUOTE) end += json.charCodeAt(end) === BACKSLASH ? 2 : 1;
      if (expectName) {
        const literal = json.slice(i, end + 1);
        const name = literal.includes("\\") ? (JSON.parse(literal) as string) : literal.slice(1, -1);
        const names = open[open.length - 1] as Set<string>;
        if (names.has(name)) return name;
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT) {
      open.push(new Set());
      expectName = true;
    } else if (c === OPEN_ARRAY) {
      open.push(null);
      expectName = false;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
      expectName = false;
    } else if (c === COMMA) {
      expectName = open[open.length - 1] instanceof Set;
    }
  }
  return undefined;
}

const COLON = 0x3a;

/** Members spelled in `json` (text JSON.parse accepted): outside strings, each member has the only `:`. */
function countMembersInText(json: string): number {
  let members = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      i++;
      while (i < json.length && json.charCodeAt(i) !== QUOTE) i += json.charCodeAt(i) === BACKSLASH ? 2 : 1;
    } else if (c === COLON) {
      members++;
    }
  }
  return members;
}

/** Own members of every object in a parsed value, at every depth. */
function countMembersInValue(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let members = 0;
  if (Array.isArray(value)) {
    for (const item of value) members += countMembersInValue(item);
    return members;
  }
  const keys = Object.keys(value);
  for (const key of keys) members += countMembersInValue((value as Record<string, unknown>)[key]);
  return members + keys.length;
}

/**
 * JSON.parse, then the duplicate check. Throws what JSON.parse throws on malformed text.
 * JSON.parse keeps one member per repeated name, so the text spells more members than the value holds
 * exactly when a name repeats: counting is a loop over character codes with no allocation (this runs on
 * every token missing from the verified-token cache); the scan that names the duplicate runs only then.
 */
export function parseStrictJson(json: string): StrictJsonResult {
  const value: unknown = JSON.parse(json);
  if (countMembersInText(json) === countMembersInValue(value)) return { ok: true, value };
  // Fails closed: should the scan not name a member, the text is refused all the same.
  return { ok: false, duplicate: findDuplicateMember(json) ?? "" };
}
