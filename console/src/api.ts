/**
 * Talking to the Rampart API from the console: same-origin fetch with the session cookies, the CSRF
 * token echoed on every unsafe request, one silent refresh on a 401, and problem+json turned into
 * an ApiError whose message is the server's `detail` (never a stack or a raw body).
 */

export class ApiError extends Error {
  /** Set when the session could not be renewed: the sign-in form is already showing its own message. */
  sessionEnded = false;

  /** `status` 0: no HTTP answer (the network, or the browser refused a passkey ceremony); `problem`: the problem+json body. */
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfter?: number,
    readonly problem: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** A wrong password or code: the caller's session is fine, nothing to refresh. */
  get wrongCredentials(): boolean {
    return this.status === 401 && String(this.problem.type).endsWith("/invalid-credentials");
  }

  /** A login refused because a role requires a second factor the user has not set up. */
  get enrolmentRequired(): boolean {
    return this.problem.enrolment_required === true;
  }

  /** A password login refused because a role requires a second factor and the user's is a passkey. */
  get passkeyRequired(): boolean {
    return this.problem.passkey_required === true;
  }
}

export interface CookieSession {
  token_type: "Cookie";
  expires_in: number;
  csrf_token: string;
}

export interface MfaChallenge {
  mfa_required: true;
  mfa_token: string;
  methods: string[];
}

export type LoginAnswer = CookieSession | MfaChallenge;

export interface Me {
  id: string;
  email: string;
  roles: string[];
  permissions: string[];
  passkeys?: number;
  mfa?: { totp: boolean; recovery_codes_remaining: number };
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
type Query = Record<string, string | number | undefined>;

const JSON_ACCEPT = "application/json, application/problem+json";
const CSRF_COOKIES = ["__Host-rampart_csrf", "rampart_csrf"];
// Calls whose 401 means "wrong credentials" or "not signed in", not "the access token expired".
const NO_REFRESH = new Set(["/auth/login", "/auth/mfa/verify", "/auth/refresh", "/auth/me", "/auth/webauthn/login/verify"]);

/** The prefix the console is mounted under: "" for `rampart serve`, e.g. "/_rampart" in a gateway. */
export function basePath(pathname: string): string {
  return pathname.replace(/\/console\/?$/, "");
}

function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return undefined;
}

function withQuery(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function problemMessage(status: number, body: unknown): string {
  if (body && typeof body === "object") {
    const { detail, title, error_description: description } = body as Record<string, unknown>;
    for (const text of [detail, description, title]) if (typeof text === "string" && text.trim()) return text;
  }
  if (status === 404) return "Not found.";
  if (status >= 500) return "The server could not complete the request. Try again later.";
  return `The request failed (HTTP ${status}).`;
}

async function toError(response: Response): Promise<ApiError> {
  const type = response.headers.get("content-type") ?? "";
  const body = type.includes("json") ? await response.json().catch(() => undefined) : undefined;
  const retry = Number(response.headers.get("retry-after"));
  let message = problemMessage(response.status, body);
  if (response.status === 429 && retry > 0 && !/\d/.test(message)) message += ` Try again in ${retry} seconds.`;
  const problem = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  return new ApiError(response.status, message, retry > 0 ? retry : undefined, problem);
}

export class Api {
  private csrf: string | undefined;
  private refreshing: Promise<boolean> | undefined;

  /** `onSessionEnded` runs when a call gets a 401 and the session cannot be refreshed. */
  constructor(
    private readonly base: string,
    private readonly onSessionEnded: () => void,
  ) {}

  get<T>(path: string, query?: Query): Promise<T> {
    return this.json<T>("GET", withQuery(path, query));
  }

  /** An unsafe request; POST, PUT and PATCH always carry a JSON body (`{}` when there is nothing to say), DELETE only when given one. */
  send<T>(method: Exclude<Method, "GET">, path: string, body?: unknown): Promise<T> {
    return this.json<T>(method, path, method === "DELETE" ? body : (body ?? {}));
  }

  /** GET of a text resource (Prometheus metrics). */
  async text(path: string): Promise<string> {
    const response = await this.request("GET", path, undefined, "text/plain, application/problem+json");
    return response.text();
  }

  async login(email: string, password: string): Promise<LoginAnswer> {
    return this.remember(await this.json<LoginAnswer>("POST", "/auth/login?session=cookie", { email, password }));
  }

  /** The assertion of `navigator.credentials.get`, as WebAuthn JSON: answered like a password login. */
  async loginWithPasskey(assertion: unknown): Promise<CookieSession> {
    return this.remember(await this.json<CookieSession>("POST", "/auth/webauthn/login/verify?session=cookie", assertion));
  }

  async verifyMfa(mfaToken: string, proof: { code: string } | { recovery_code: string }): Promise<CookieSession> {
    return this.remember(await this.json<CookieSession>("POST", "/auth/mfa/verify?session=cookie", { mfa_token: mfaToken, ...proof }));
  }

  /** Renews the session from the refresh cookie; false when it cannot be renewed. Concurrent callers share one attempt. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.json<CookieSession>("POST", "/auth/refresh?session=cookie", {})
      .then((answer) => {
        this.remember(answer);
        return true;
      })
      .catch(() => false)
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  hasSessionCookie(): boolean {
    return this.csrfToken() !== undefined;
  }

  /** Ends the session on the server when it still can be (refreshing an expired access token first); never throws. */
  async logout(): Promise<void> {
    try {
      const response = await this.fetchOnce("POST", "/auth/logout", {}, JSON_ACCEPT);
      if (response.status === 401 && (await this.refresh())) await this.fetchOnce("POST", "/auth/logout", {}, JSON_ACCEPT);
    } catch {
      // Signing out locally is all that is left to do.
    }
    this.csrf = undefined;
  }

  forget(): void {
    this.csrf = undefined;
  }

  private remember<T extends LoginAnswer>(answer: T): T {
    if ("csrf_token" in answer) this.csrf = answer.csrf_token;
    return answer;
  }

  private csrfToken(): string | undefined {
    if (this.csrf) return this.csrf;
    for (const name of CSRF_COOKIES) {
      const value = readCookie(name);
      if (value) return value;
    }
    return undefined;
  }

  private async json<T>(method: Method, path: string, body?: unknown): Promise<T> {
    const response = await this.request(method, path, body, JSON_ACCEPT);
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  private async request(method: Method, path: string, body: unknown, accept: string): Promise<Response> {
    let response = await this.fetchOnce(method, path, body, accept);
    const route = path.split("?")[0] ?? path;
    if (response.status === 401 && !NO_REFRESH.has(route)) {
      const error = await toError(response);
      // A wrong current password or code: retrying would only count a second failure against the user.
      if (error.wrongCredentials) throw error;
      if (!(await this.refresh())) {
        error.sessionEnded = true;
        this.onSessionEnded();
        throw error;
      }
      response = await this.fetchOnce(method, path, body, accept);
    }
    if (!response.ok) throw await toError(response);
    return response;
  }

  private async fetchOnce(method: Method, path: string, body: unknown, accept: string): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (method !== "GET") {
      headers["content-type"] = "application/json";
      const csrf = this.csrfToken();
      if (csrf) headers["x-csrf-token"] = csrf;
    }
    try {
      return await fetch(this.base + path, {
        method,
        headers,
        credentials: "same-origin",
        cache: "no-store",
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch {
      throw new ApiError(0, "The server could not be reached. Check your connection and try again.");
    }
  }
}
