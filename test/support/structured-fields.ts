/** A strict RFC 8941 List parser shared by the rate-limit header tests. */
export type Bare = string | number | boolean;
export interface Item {
  readonly value: Bare;
  readonly params: Record<string, Bare>;
}

/**
 * A strict RFC 8941 §4.2 List parser for what these fields may hold: items (no inner lists) whose bare
 * items and parameter values are Integers, Strings, Tokens or Booleans. Throws on anything else.
 */
export function parseSfList(field: string): Item[] {
  let s = field.replace(/^ +| +$/g, "");
  const fail = (what: string): never => {
    throw new SyntaxError(`not an RFC 8941 List (${what}) at ${JSON.stringify(s)} in ${JSON.stringify(field)}`);
  };
  const take = (re: RegExp): string | undefined => {
    const m = re.exec(s);
    if (!m) return undefined;
    s = s.slice(m[0].length);
    return m[0];
  };
  const bareItem = (): Bare => {
    const integer = take(/^-?\d{1,15}(?![\d.])/);
    if (integer !== undefined) return Number(integer);
    if (s.startsWith('"')) {
      const str = take(/^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"/) ?? fail("string");
      return str.slice(1, -1).replace(/\\(["\\])/g, "$1");
    }
    const boolean = take(/^\?[01]/);
    if (boolean !== undefined) return boolean === "?1";
    return take(/^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*/) ?? fail("bare item");
  };
  const items: Item[] = [];
  if (s === "") return items;
  for (;;) {
    if (s.startsWith("(")) fail("inner list");
    const value = bareItem();
    const params: Record<string, Bare> = {};
    while (take(/^;/) !== undefined) {
      take(/^ */);
      const key = take(/^[a-z*][a-z0-9_\-.*]*/) ?? fail("parameter key");
      params[key] = take(/^=/) !== undefined ? bareItem() : true;
    }
    items.push({ value, params });
    take(/^[ \t]*/);
    if (s === "") return items;
    if (take(/^,/) === undefined) fail("expected a comma");
    take(/^[ \t]*/);
    if (s === "") fail("trailing comma");
  }
}
