/**
 * Permission grammar and matching.
 *
 * Grammar: `resource:action[:qualifier]`, each segment `[a-z][a-z0-9_-]*` or `*`; a lone `*` means
 * everything. Required permissions (what a route or handler asks for) are always concrete; only grants
 * (what a role or token scope gives) may hold `*`.
 *
 * Matching, precisely: a grant matches a required permission when
 * - each grant segment equals the required segment at the same position or is `*`, and
 * - the lengths are equal, except that a grant whose LAST segment is `*` also covers any deeper segments.
 * So `notes:*` covers `notes:read` and `notes:read:any`; `*:read` covers `notes:read` only;
 * `notes:read:*` covers `notes:read:any` but not `notes:read`; and `notes:read` does NOT cover
 * `notes:read:any`: a qualified requirement (`:any` = other people's objects) needs a grant that says so.
 */
import { RampartError } from "../errors.ts";

/** Requirements have two or three segments, so a grant never needs to be expanded past three. */
export const MAX_SEGMENTS = 3;
const MAX_LENGTH = 200;
const SEGMENT = /^(?:\*|[a-z][a-z0-9_-]*)$/;

export interface Permission {
  /** Canonical text, e.g. `notes:read:any`. */
  readonly text: string;
  readonly segments: readonly string[];
  /** True when any segment is `*`. */
  readonly wildcard: boolean;
}

function invalid(text: string, why: string): RampartError {
  return new RampartError("RAMPART_ERR_VALIDATION", {
    detail: `invalid permission ${JSON.stringify(text)}: ${why}`,
    extensions: { permission: text },
  });
}

/**
 * Parses a grant (wildcards allowed).
 * @throws RampartError RAMPART_ERR_VALIDATION naming the permission and what is wrong with it.
 * @example parsePermission("notes:*").segments // ["notes", "*"]
 */
export function parsePermission(text: string): Permission {
  if (typeof text !== "string") throw invalid(String(text), "expected a string");
  if (text.length === 0) throw invalid(text, "empty");
  if (text.length > MAX_LENGTH) throw invalid(text.slice(0, 40), `longer than ${MAX_LENGTH} characters`);
  const segments = text.split(":");
  if (segments.length > MAX_SEGMENTS) throw invalid(text, `at most ${MAX_SEGMENTS} segments (resource:action:qualifier)`);
  if (segments.length === 1 && segments[0] !== "*") throw invalid(text, 'expected "resource:action" or "*"');
  segments.forEach((segment, i) => {
    if (!SEGMENT.test(segment)) {
      throw invalid(text, `segment ${i + 1} ${JSON.stringify(segment)} must be "*" or match [a-z][a-z0-9_-]*`);
    }
  });
  return Object.freeze({ text, segments: Object.freeze(segments), wildcard: segments.includes("*") });
}

/**
 * Parses a required permission: like {@link parsePermission} but wildcards are refused, because
 * "requires `notes:*`" has no clear meaning (all of them? any of them?).
 * @throws RampartError RAMPART_ERR_VALIDATION
 */
export function parseRequiredPermission(text: string): Permission {
  const permission = parsePermission(text);
  if (permission.wildcard) throw invalid(text, "a required permission cannot contain \"*\"");
  return permission;
}

/** Whether `grant` covers `required` (see the module comment). The reference definition: clear, not fast. */
export function matches(grant: Permission, required: Permission): boolean {
  const g = grant.segments;
  const r = required.segments;
  const open = g[g.length - 1] === "*";
  if (open ? r.length < g.length : r.length !== g.length) return false;
  for (let i = 0; i < g.length; i++) {
    if (g[i] !== "*" && g[i] !== r[i]) return false;
  }
  return true;
}

const isOpen = (p: Permission) => p.segments[p.segments.length - 1] === "*";

/**
 * The canonical form: `*:*` covers exactly what `*` covers (every requirement has two or more segments),
 * so it is shown as `*`. (`*:*:*` is different: it covers only three-segment permissions.)
 */
export function canonical(grant: Permission): Permission {
  return grant.text === "*:*" ? parsePermission("*") : grant;
}

/** Whether every permission `b` covers is also covered by `a` (used to drop redundant grants from lists). */
export function covers(a: Permission, b: Permission): boolean {
  const as = a.segments;
  const bs = b.segments;
  if (isOpen(a) ? bs.length < as.length : isOpen(b) || bs.length !== as.length) return false;
  return as.every((s, i) => s === "*" || s === bs[i]);
}

/**
 * The grant covering exactly what both `a` and `b` cover, or `undefined` when they share nothing. Always
 * expressible in the grammar: segment by segment the concrete side wins (a conflict means empty), and the
 * result is closed at the closed side's length, or open at the longer length when both are open.
 * This is what lets a token's effective permissions be listed as grants (`notes:*` ∩ `*:read` = `notes:read`).
 */
export function meet(a: Permission, b: Permission): Permission | undefined {
  const openA = isOpen(a);
  const openB = isOpen(b);
  const la = a.segments.length;
  const lb = b.segments.length;
  let length: number;
  if (!openA && !openB) {
    if (la !== lb) return undefined;
    length = la;
  } else if (!openA || !openB) {
    const [closed, open] = openA ? [lb, la] : [la, lb];
    if (closed < open) return undefined;
    length = closed;
  } else {
    length = Math.max(la, lb);
  }
  const segments: string[] = [];
  for (let i = 0; i < length; i++) {
    const x = a.segments[i] ?? "*";
    const y = b.segments[i] ?? "*";
    if (x !== "*" && y !== "*" && x !== y) return undefined;
    segments.push(x === "*" ? y : x);
  }
  return canonical(parsePermission(segments.join(":")));
}
