/** What every view is given: the API, the signed-in user, and the page-wide messages and dialogs. */
import type { Api, Me } from "./api.ts";

export interface Notices {
  /** A success message in the polite status region. */
  success(message: string): void;
  /** A neutral message in the polite status region (nothing went wrong, nothing happened either). */
  info(message: string): void;
  /** An error message in the alert region. */
  error(message: string): void;
  /** Removes the error message (a new attempt is under way). */
  clearAlert(): void;
  clear(): void;
}

export interface ViewContext {
  readonly api: Api;
  readonly me: Me;
  readonly notices: Notices;
  /** Whether the signed-in user holds `permission`. */
  can(permission: string): boolean;
  /** Back to the sign-in form (after the user revoked their own session). */
  endSession(message: string): void;
}

/** Renders a page into `root`; may return what to do when the page is left (stop timers, drop secrets). */
export type View = (root: HTMLElement, context: ViewContext) => (() => void) | undefined;
