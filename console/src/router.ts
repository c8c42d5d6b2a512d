/**
 * Hash routing (`#/users`): the page is never reloaded, and the server only ever serves `{base}/console`.
 * The router only says which route is shown; what a route renders is main.ts's business.
 */

export function currentRoute(): string {
  const match = /^#\/([a-z]*)$/.exec(location.hash);
  return match?.[1] ?? "";
}

export function routeHref(route: string): string {
  return `#/${route}`;
}

/** Shows `route` without adding a history entry (used to correct an empty or unknown hash). */
export function replaceRoute(route: string): void {
  history.replaceState(history.state, "", routeHref(route));
}

/** Calls `onRoute` on every hash change; returns the function that stops listening. */
export function watchRoutes(onRoute: (route: string) => void): () => void {
  const listener = () => onRoute(currentRoute());
  window.addEventListener("hashchange", listener);
  return () => window.removeEventListener("hashchange", listener);
}
