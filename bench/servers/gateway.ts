/**
 * `rampart gateway` for the gateway benchmark, composed exactly as the CLI composes it, in front of
 * bench/servers/upstream.ts (RAMPART_UPSTREAM). One authenticated rule (`items:read`, a generous
 * per-principal limit, so every limit is decided and none denies); start-up registers a reader and
 * announces its token.
 *
 *   RAMPART_UPSTREAM=http://127.0.0.1:PORT node --import tsx bench/servers/gateway.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import { composeGateway } from "../../src/gateway/compose.ts";
import { compilePolicy } from "../../src/gateway/policy.ts";
import { createLogger } from "../../src/http/logger.ts";
import { createRepositories, openDatabase } from "../../src/store/index.ts";
import { announce, BENCH_PASSWORD, exitWith, HOST, ITEMS_PATH } from "./common.ts";

const GENEROUS = ["1000000/second burst 1000000", "100000000/hour"];
const dataDir = mkdtempSync(join(tmpdir(), "rampart-bench-gateway-"));
const config = loadConfig({
  env: { RAMPART_DATA_DIR: dataDir, RAMPART_UPSTREAM: process.env.RAMPART_UPSTREAM ?? "" },
  overrides: {
    logging: { level: "silent", pretty: false },
    registration: "open",
    tokens: { accessTtlSeconds: 3 * 3600 },
    gateway: { prefix: "/_rampart" },
    rateLimit: { perIp: GENEROUS, perPrincipal: GENEROUS, login: GENEROUS, register: GENEROUS },
  },
});
const policy = compilePolicy({
  audience: "bench-api",
  roles: { reader: ["items:read"] },
  routes: [
    { match: `GET ${ITEMS_PATH}`, permissions: ["items:read"], limits: GENEROUS },
    // For comparison runs: the same forwarding without authentication or an assertion.
    { match: `GET ${ITEMS_PATH}/public`, auth: "public" },
  ],
});
const server = await composeGateway(config, createLogger(config), policy);
const { app } = server;

const email = "reader@bench.test";
const registered = await app.inject({ method: "POST", url: "/_rampart/auth/register", payload: { email, password: BENCH_PASSWORD } });
const database = await openDatabase({ dataDir });
await createRepositories(database.db).users.setRoles(registered.json().id, ["reader"]);
await database.close();
const login = await app.inject({ method: "POST", url: "/_rampart/auth/login", payload: { email, password: BENCH_PASSWORD } });
const forbidden = await app.inject({ method: "POST", url: "/_rampart/auth/register", payload: { email: "nobody@bench.test", password: BENCH_PASSWORD } });
const forbiddenLogin = await app.inject({ method: "POST", url: "/_rampart/auth/login", payload: { email: "nobody@bench.test", password: BENCH_PASSWORD } });
if (login.statusCode !== 200 || forbidden.statusCode !== 201 || forbiddenLogin.statusCode !== 200) {
  throw new Error(`bench gateway set-up failed: ${login.body} ${forbiddenLogin.body}`);
}
const address = await app.listen({ host: HOST, port: 0 });
announce({
  port: Number(new URL(address).port),
  token: login.json().access_token,
  forbiddenToken: forbiddenLogin.json().access_token,
  note: `gateway → ${config.gateway.upstream}`,
});
exitWith(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});
