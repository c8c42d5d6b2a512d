/**
 * The reference server (`composeServer`) for identity tests over `inject()`: a fresh data dir per app,
 * optional captured log lines, and small helpers for the auth flows (register, login, bearer calls) and
 * for reading the app's own storage from the test (signing keys, tokens) on the same data dir.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import pino from "pino";
import { loadConfig } from "../../src/config/load.ts";
import type { ResolvedConfig } from "../../src/config/resolve.ts";
import { createLogger } from "../../src/http/logger.ts";
import { composeServer, type RampartServer } from "../../src/server/compose.ts";
import { createRepositories, type DatabaseHandle, openDatabase, type Repositories } from "../../src/store/index.ts";

export interface IdentityApp {
  app: FastifyInstance;
  server: RampartServer;
  config: ResolvedConfig;
  dataDir: string;
  /** Every log line written, when built with `captureLogs`. */
  logs: string[];
  close(): Promise<void>;
}

export interface IdentityAppOptions {
  env?: Record<string, string>;
  overrides?: Record<string, unknown>;
  /** Reuse a data dir (a second app on the same database and keys). */
  dataDir?: string;
  /** Log through the real logger (redaction included) at this level into `logs`; default: silent. */
  captureLogs?: "info" | "debug" | "trace";
}

export function newDataDir(): string {
  return mkdtempSync(join(tmpdir(), "rampart-identity-"));
}

export async function startIdentityApp(options: IdentityAppOptions = {}): Promise<IdentityApp> {
  const dataDir = options.dataDir ?? newDataDir();
  const config = loadConfig({
    env: { RAMPART_DATA_DIR: dataDir, ...options.env },
    overrides: {
      // Route rate limits are a separate concern with their own tests; these suites make many calls
      // from few addresses. The login throttle is not affected by this switch.
      rateLimit: { enabled: false },
      ...(options.captureLogs ? { logging: { level: options.captureLogs } } : {}),
      ...options.overrides,
    },
  });
  const logs: string[] = [];
  const logger = options.captureLogs
    ? createLogger(
        config,
        new Writable({
          write(chunk, _encoding, callback) {
            logs.push(String(chunk));
            callback();
          },
        }),
      )
    : pino({ level: "silent" });
  const server = await composeServer(config, logger);
  await server.app.ready();
  return { app: server.app, server, config, dataDir, logs, close: () => server.close() };
}

/** The app's database opened a second time, from the test, on the same data dir. */
export async function openStore(dataDir: string): Promise<{ repos: Repositories; database: DatabaseHandle; close(): Promise<void> }> {
  const database = await openDatabase({ dataDir });
  return { repos: createRepositories(database.db), database, close: () => database.close() };
}

export const PASSWORD = "correct horse battery staple";

export async function register(app: FastifyInstance, email: string, password = PASSWORD, ip = "127.0.0.1") {
  return app.inject({ method: "POST", url: "/auth/register", remoteAddress: ip, payload: { email, password } });
}

export interface TokenPair {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

export async function login(app: FastifyInstance, email: string, password = PASSWORD, ip = "127.0.0.1") {
  return app.inject({ method: "POST", url: "/auth/login", remoteAddress: ip, payload: { email, password } });
}

/** Registers (201 expected) then logs in (200 expected); returns the user id and the token pair. */
export async function signUp(app: FastifyInstance, email: string, ip: string, password = PASSWORD): Promise<{ id: string; tokens: TokenPair }> {
  const created = await register(app, email, password, ip);
  assert.equal(created.statusCode, 201, created.body);
  const tokens = await loginOk(app, email, ip, password);
  return { id: created.json().id as string, tokens };
}

export async function loginOk(app: FastifyInstance, email: string, ip: string, password = PASSWORD): Promise<TokenPair> {
  const response = await login(app, email, password, ip);
  assert.equal(response.statusCode, 200, response.body);
  return response.json() as TokenPair;
}

export async function refresh(app: FastifyInstance, refreshToken: string, ip = "127.0.0.1") {
  return app.inject({ method: "POST", url: "/auth/refresh", remoteAddress: ip, payload: { refresh_token: refreshToken } });
}

/** `GET /auth/me` with `Authorization: <scheme> <token>`. */
export async function me(app: FastifyInstance, token: string, ip = "127.0.0.1", scheme = "Bearer") {
  return app.inject({ method: "GET", url: "/auth/me", remoteAddress: ip, headers: { authorization: `${scheme} ${token}` } });
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A 401 refusal of a token: problem+json, `WWW-Authenticate: Bearer …, error="invalid_token"`. */
export function assertInvalidToken(response: LightMyRequestResponse, message?: string): void {
  assert.equal(response.statusCode, 401, message ?? response.body);
  assert.match(String(response.headers["content-type"]), /^application\/problem\+json/, message);
  const challenge = String(response.headers["www-authenticate"] ?? "");
  assert.match(challenge, /^Bearer\b/, message);
  assert.match(challenge, /error="invalid_token"/, message);
}

/** A problem+json refusal with this status. */
export function assertProblem(response: LightMyRequestResponse, status: number, message?: string): Record<string, unknown> {
  assert.equal(response.statusCode, status, message ?? response.body);
  assert.match(String(response.headers["content-type"]), /^application\/problem\+json/, message);
  const body = response.json() as Record<string, unknown>;
  assert.equal(body.status, status, message);
  for (const member of ["type", "title", "detail", "requestId"]) assert.equal(typeof body[member], "string", `${member} in ${response.body}`);
  assert.equal(response.headers["x-request-id"], body.requestId, "the problem's requestId is the X-Request-Id header");
  return body;
}

/** Decodes one base64url JSON segment of a compact JWS. */
export function jwtPart(token: string, index: 0 | 1): Record<string, unknown> {
  const segment = token.split(".")[index];
  assert.ok(segment, "token has the segment");
  return JSON.parse(Buffer.from(segment, "base64url").toString("utf8")) as Record<string, unknown>;
}

export const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
