/**
 * Which console sections the signed-in user may open, from the permissions of GET /auth/me. The
 * server decides every request on its own; this only keeps the navigation to what would work.
 *
 * Matching is that of src/core/authz/permission.ts (`matches`), re-stated here so the browser bundle
 * carries none of the server's error catalogue: each grant segment equals the required one or is `*`;
 * lengths are equal, except that a grant ending in `*` also covers deeper segments; `*` covers all.
 */

export function grantCovers(grant: string, required: string): boolean {
  const g = grant.split(":");
  const r = required.split(":");
  const open = g[g.length - 1] === "*";
  if (open ? r.length < g.length : r.length !== g.length) return false;
  return g.every((segment, i) => segment === "*" || segment === r[i]);
}

export function holds(grants: readonly string[], required: string): boolean {
  return grants.some((grant) => grantCovers(grant, required));
}
