/**
 * Helpers for the authorization suites (test/http/authz): the reference server exactly as `serve`
 * composes it (default config, rate limits on) on a fresh data dir, users with their own password and
 * client address (register and login limits are per IP), admins made behind the server's back before
 * their first request, and small request helpers that always send a problem-free JSON call.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import pino from "pino";
import { loadConfig } from "../../src/config/load.ts";
import { composeServer, type RampartServer } from "../../src/server/compose.ts";
import { openStore } from "./identity.ts";

export interface AuthzServer {
  app: FastifyInstance;
  server: RampartServer;
  dataDir: string;
  close(): Promise<void>;
}

/** `composeServer(loadConfig({ env: { RAMPART_DATA_DIR } }), silent)`, ready. */
export async function startServer(): Promise<AuthzServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-authz-"));
  const server = await composeServer(loadConfig({ env: { RAMPART_DATA_DIR: dataDir } }), pino({ level: "silent" }));
  await server.app.ready();
  return { app: server.app, server, dataDir, close: () => server.close() };
}

/** Distinct client addresses for one test file: `10.<block>.0.1`, `10.<block>.0.2`, … */
export function addresses(block: number): () => string {
  let next = 0;
  return () => {
    next++;
    return `10.${block}.${Math.floor(next / 250)}.${(next % 250) + 1}`;
  };
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  /** The client address every request of this user comes from. */
  ip: string;
  access_token: string;
  refresh_token: string;
}

/** Registers (201) and logs in (200) a fresh user with a unique password, from `ip`. */
export async function createUser(app: FastifyInstance, label: string, ip: string): Promise<TestUser> {
  const email = `${label}-${randomUUID().slice(0, 8)}@authz.example`;
  const password = `pw ${label} ${randomUUID()}`;
  const registered = await app.inject({ method: "POST", url: "/auth/register", remoteAddress: ip, payload: { email, password } });
  assert.equal(registered.statusCode, 201, registered.body);
  const user = registered.json() as { id: string };
  const tokens = await loginAs(app, email, password, ip);
  return { id: user.id, email, password, ip, access_token: tokens.access_token, refresh_token: tokens.refresh_token };
}

export async function loginAs(app: FastifyInstance, email: string, password: string, ip: string) {
  const response = await app.inject({ method: "POST", url: "/auth/login", remoteAddress: ip, payload: { email, password } });
  assert.equal(response.statusCode, 200, response.body);
  return response.json() as { access_token: string; refresh_token: string; token_type: string; expires_in: number };
}

/** Sets a user's roles directly in the app's database. Do it before that user's first request (the server caches user state). */
export async function setRolesInStore(dataDir: string, userId: string, roles: string[]): Promise<void> {
  const store = await openStore(dataDir);
  try {
    assert.equal(await store.repos.users.setRoles(userId, roles), true);
  } finally {
    await store.close();
  }
}

type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * A request from `ip` with `Authorization: <scheme> <token>` (or none when `token` is undefined).
 * Objects are sent as JSON.
 */
export function send(
  app: FastifyInstance,
  ip: string,
  token: string | undefined,
  method: Method,
  url: string,
  payload?: unknown,
  scheme = "Bearer",
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    remoteAddress: ip,
    headers: token === undefined ? {} : { authorization: `${scheme} ${token}` },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

/** A caller bound to one user's access token and address. */
export function caller(app: FastifyInstance, user: Pick<TestUser, "ip" | "access_token">) {
  return (method: Method, url: string, payload?: unknown) => send(app, user.ip, user.access_token, method, url, payload);
}

/** A problem+json body without the per-request members, for comparing two refusals. */
export function stableProblem(response: LightMyRequestResponse): Record<string, unknown> {
  const { requestId: _, ...rest } = response.json() as Record<string, unknown>;
  return rest;
}

/** The `errors[].pointer` values of a validation problem. */
export function pointers(response: LightMyRequestResponse): string[] {
  const errors = (response.json() as { errors?: { pointer: string }[] }).errors ?? [];
  return errors.map((e) => e.pointer);
}
