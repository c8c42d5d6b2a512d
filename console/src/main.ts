/**
 * The Rampart admin console: one page at `{base}/console`, hash-routed, talking to the API of the same
 * origin with a cookie session. This file wires the page shell (header, navigation, live regions),
 * sign-in and sign-out, and which view each route shows.
 */
import { Api, ApiError, basePath, type Me } from "./api.ts";
import type { Notices, ViewContext } from "./context.ts";
import { fill, h } from "./dom.ts";
import { holds } from "./permissions.ts";
import { currentRoute, replaceRoute, routeHref, watchRoutes } from "./router.ts";
import { allowedSections, homeRoute, SECTIONS, type Section } from "./sections.ts";
import { closeDialogs, pageHeading } from "./ui.ts";
import { signInView } from "./views/signin.ts";

const PRODUCT = "Rampart console";

function createNotices(status: HTMLElement, alert: HTMLElement): Notices {
  return {
    success(message) {
      alert.textContent = "";
      status.className = "notice success";
      status.textContent = message;
    },
    info(message) {
      alert.textContent = "";
      status.className = "notice info";
      status.textContent = message;
    },
    error(message) {
      status.textContent = "";
      alert.textContent = message;
    },
    clearAlert() {
      alert.textContent = "";
    },
    clear() {
      status.textContent = alert.textContent = "";
    },
  };
}

function startConsole(app: HTMLElement): void {
  const who = h("div", { class: "who" });
  const nav = h("nav", { "aria-label": "Console sections", hidden: true });
  const status = h("div", { role: "status", class: "notice success" });
  const alert = h("div", { role: "alert", class: "notice error" });
  const view = h("div", { class: "view" });
  fill(
    app,
    h("header", { class: "topbar" }, h("div", { class: "topbar-inner" }, h("p", { class: "brand" }, PRODUCT), who)),
    nav,
    h("main", null, h("div", { class: "notices" }, status, alert), view),
  );
  const notices = createNotices(status, alert);
  let session: { me: Me; allowed: Section[]; stopRoutes: () => void } | undefined;
  let leaveView: (() => void) | undefined;
  const api = new Api(basePath(location.pathname), () => {
    if (session) showSignIn("Your session ended; sign in again.");
  });

  function showSignIn(message?: string, asError = true): void {
    leaveView?.();
    leaveView = undefined;
    session?.stopRoutes();
    session = undefined;
    api.forget();
    fill(who);
    fill(nav);
    nav.hidden = true;
    document.title = `Sign in – ${PRODUCT}`;
    notices.clear();
    signInView(view, { api, notices, onSignedIn: enter });
    if (message) (asError ? notices.error : notices.success)(message);
  }

  async function enter(): Promise<void> {
    showConsole(await api.get<Me>("/auth/me"));
  }

  function showConsole(me: Me): void {
    const allowed = allowedSections(me.permissions);
    const signOut = h("button", { type: "button", on: { click: () => void leave(signOut) } }, "Sign out");
    fill(who, h("span", { class: "email", title: me.email }, me.email), signOut);
    fill(nav, h("ul", null, allowed.map((s) => h("li", null, h("a", { href: routeHref(s.route) }, s.title)))));
    nav.hidden = false;
    session = { me, allowed, stopRoutes: watchRoutes(render) };
    notices.clear();
    render(currentRoute());
  }

  async function leave(button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    await api.logout();
    showSignIn("You signed out.", false);
  }

  function render(route: string): void {
    if (!session) return;
    const { me, allowed } = session;
    const section = SECTIONS.find((s) => s.route === route);
    if (!section) {
      replaceRoute(homeRoute(allowed));
      render(currentRoute());
      return;
    }
    leaveView?.();
    leaveView = undefined;
    closeDialogs();
    notices.clear();
    for (const link of nav.querySelectorAll("a")) {
      if (link.getAttribute("href") === routeHref(route)) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    document.title = `${section.title} – ${PRODUCT}`;
    if (allowed.includes(section)) {
      const context: ViewContext = { api, me, notices, can: (p) => holds(me.permissions, p), endSession: (m) => showSignIn(m, false) };
      leaveView = section.view(view, context);
    } else {
      fill(view, pageHeading("No access"), h("p", null, "You do not have access to this page."));
    }
    view.querySelector("h1")?.focus();
  }

  /** The user of the session cookie; with an expired access token (after a reload), one refresh is tried. */
  async function currentUser(): Promise<Me | undefined> {
    // Every cookie session comes with its (readable) CSRF cookie: without one there is nothing to ask about.
    if (!api.hasSessionCookie()) return undefined;
    try {
      return await api.get<Me>("/auth/me");
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      if (!(await api.refresh())) return undefined;
      return api.get<Me>("/auth/me");
    }
  }

  currentUser().then(
    (me) => (me ? showConsole(me) : showSignIn()),
    (error: unknown) => showSignIn(error instanceof ApiError ? error.message : "The console could not start; reload the page."),
  );
}

const app = document.getElementById("app");
if (app) startConsole(app);
