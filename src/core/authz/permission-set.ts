/**
 * A list of granted patterns compiled once into a structure that answers `has(required)` without
 * re-parsing grants or running a regex per request: concrete grants live in a `Set`, the few wildcard
 * grants in a short array, and each distinct requirement's answer is memoised (requirements come from
 * route declarations and handler code, so there are few distinct ones).
 */
import { RampartError } from "../errors.ts";
import { canonical, covers, matches, meet, type Permission, parsePermission, parseRequiredPermission } from "./permission.ts";

/** Beyond this many distinct requirements a set stops memoising (answers stay correct, just uncached). */
const MEMO_LIMIT = 1024;

export interface PermissionSet {
  /**
   * Whether the set covers a concrete required permission.
   * @throws RampartError RAMPART_ERR_INTERNAL when `required` is malformed or holds `*`: requirements come
   * from code, so that is a server bug, not a client error.
   */
  has(required: string): boolean;
  /** The grants, sorted, without duplicates or grants covered by another (`["*"]` for admin). */
  list(): readonly string[];
  /** The same grants, parsed. */
  readonly patterns: readonly Permission[];
}

/** The effective set of an API token: what both the owner's grants and the token's scopes allow. */
export interface ScopedPermissionSet extends PermissionSet {
  readonly owner: PermissionSet;
  readonly scopes: PermissionSet;
}

class CompiledPermissionSet implements PermissionSet {
  readonly patterns: readonly Permission[];
  readonly #exact: ReadonlySet<string>;
  readonly #wild: readonly Permission[];
  readonly #memo = new Map<string, boolean>();
  readonly #list: readonly string[];

  constructor(patterns: readonly Permission[]) {
    this.patterns = Object.freeze(prune(patterns));
    this.#exact = new Set(this.patterns.filter((p) => !p.wildcard).map((p) => p.text));
    this.#wild = this.patterns.filter((p) => p.wildcard);
    this.#list = Object.freeze(this.patterns.map((p) => p.text));
  }

  has(required: string): boolean {
    if (this.#exact.has(required)) return true;
    const known = this.#memo.get(required);
    if (known !== undefined) return known;
    const parsed = parseRequirement(required);
    const answer = this.#wild.some((grant) => matches(grant, parsed));
    if (this.#memo.size < MEMO_LIMIT) this.#memo.set(required, answer);
    return answer;
  }

  list(): readonly string[] {
    return this.#list;
  }
}

class IntersectedPermissionSet extends CompiledPermissionSet implements ScopedPermissionSet {
  constructor(
    readonly owner: PermissionSet,
    readonly scopes: PermissionSet,
  ) {
    const meets: Permission[] = [];
    for (const grant of owner.patterns) {
      for (const scope of scopes.patterns) {
        const both = meet(grant, scope);
        if (both) meets.push(both);
      }
    }
    super(meets);
  }
}

function parseRequirement(required: string): Permission {
  try {
    return parseRequiredPermission(required);
  } catch (cause) {
    throw new RampartError("RAMPART_ERR_INTERNAL", {
      reason: `malformed required permission ${JSON.stringify(required)}`,
      cause,
    });
  }
}

/** Sorted, deduplicated, and without grants another grant already covers. */
function prune(patterns: readonly Permission[]): Permission[] {
  const unique = new Map<string, Permission>();
  for (const p of patterns) unique.set(p.text, p);
  const all = [...unique.values()];
  return all
    .filter((p, i) => !all.some((q, j) => j !== i && covers(q, p) && (!covers(p, q) || j < i)))
    .sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}

/**
 * Compiles granted patterns (role permissions, or token scopes) once.
 * @throws RampartError RAMPART_ERR_VALIDATION when a grant is malformed.
 * @example compilePermissions(["notes:*"]).has("notes:read:any") // true
 */
export function compilePermissions(grants: Iterable<string>): PermissionSet {
  return new CompiledPermissionSet([...grants].flatMap((g) => withImplied(canonical(parsePermission(g)))));
}

/**
 * `r:a:any` (act on anyone's objects) includes `r:a` (act on one's own): a role holding only
 * `notes:read:any` may call the routes that require `notes:read`.
 */
function withImplied(grant: Permission): Permission[] {
  const [resource, action, qualifier] = grant.segments;
  if (grant.segments.length !== 3 || qualifier !== "any" || resource === "*" || action === "*") return [grant];
  return [grant, parsePermission(`${resource}:${action}`)];
}

/**
 * The effective permissions of an API token: a required permission is allowed only when BOTH the owner's
 * grants and the token's scopes allow it, so scopes can only narrow (a token scoped `*` owned by a `user`
 * is still only a user). `list()` is exact, not an approximation: the overlap of two grants is always
 * itself a grant (see `meet`), so `*` ∩ `notes:read` lists `notes:read` and `notes:*` ∩ `*:read` lists
 * `notes:read`. Compile once per token (cache it beside the verified token), not per request.
 */
export function intersect(grants: PermissionSet, scopes: PermissionSet): ScopedPermissionSet {
  return new IntersectedPermissionSet(grants, scopes);
}

/** Whether the set is a token's narrowed set, so a refusal can say which side refused. */
export function isScoped(set: PermissionSet): set is ScopedPermissionSet {
  return set instanceof IntersectedPermissionSet;
}
