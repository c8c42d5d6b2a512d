/** The console's pages: route, title (the nav link and the page's h1), the permission that opens it, the view. */
import type { View } from "./context.ts";
import { holds } from "./permissions.ts";
import { accountView } from "./views/account.ts";
import { auditView } from "./views/audit.ts";
import { clientsView } from "./views/clients.ts";
import { liveView } from "./views/live.ts";
import { rolesView } from "./views/roles.ts";
import { sessionsView } from "./views/sessions.ts";
import { tokensView } from "./views/tokens.ts";
import { usersView } from "./views/users.ts";

export interface Section {
  route: string;
  title: string;
  /** Undefined: any signed-in user. */
  permission?: string;
  view: View;
}

export const SECTIONS: readonly Section[] = [
  { route: "users", title: "Users", permission: "users:admin", view: usersView },
  { route: "roles", title: "Roles", permission: "roles:admin", view: rolesView },
  { route: "clients", title: "Service clients", permission: "clients:admin", view: clientsView },
  { route: "audit", title: "Audit log", permission: "audit:read", view: auditView },
  { route: "live", title: "Live limits", permission: "metrics:read", view: liveView },
  { route: "tokens", title: "My tokens", permission: "tokens:manage", view: tokensView },
  { route: "sessions", title: "My sessions", view: sessionsView },
  { route: "account", title: "My account", view: accountView },
];

export function allowedSections(permissions: readonly string[]): Section[] {
  return SECTIONS.filter((s) => s.permission === undefined || holds(permissions, s.permission));
}

/** Where a user lands after signing in: Users when they may manage users, else their tokens. */
export function homeRoute(allowed: readonly Section[]): string {
  const routes = allowed.map((s) => s.route);
  return ["users", "tokens", "sessions"].find((r) => routes.includes(r)) ?? "sessions";
}
