import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../src/config/load.ts";
import { buildApp } from "../../src/http/app.ts";
import { createLogger } from "../../src/http/logger.ts";
import { handleSignals } from "../../src/server/lifecycle.ts";
import { Writable } from "node:stream";

describe("graceful shutdown", () => {
  it("SIGTERM lets an in-flight slow request finish, then exits 0", async () => {
    const config = loadConfig({ env: {}, overrides: { port: 0, shutdownGraceMs: 5000 } });
    const logger = createLogger(config, new Writable({ write: (_c, _e, cb) => cb() }));
    let release: () => void = () => {};
    const app = await buildApp({
      config,
      logger,
      routes: (scope) => {
        scope.get("/slow", { config: { rampart: { auth: "public" } } }, async () => {
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return { finished: true };
        });
      },
    });
    const address = await app.listen({ host: "127.0.0.1", port: 0 });
    let exitCode: number | undefined;
    const exited = new Promise<void>((resolve) => {
      handleSignals({ app, banner: [], close: () => app.close() }, config, (code) => {
        exitCode = code;
        resolve();
      });
    });

    const inFlight = fetch(`${address}/slow`);
    await sleep(100); // let the request reach the handler (real sockets: no clock to inject)
    process.kill(process.pid, "SIGTERM");
    await sleep(50);
    assert.equal(exitCode, undefined, "must not exit while a request is in flight");
    release();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { finished: true });
    await exited;
    assert.equal(exitCode, 0);
    process.removeAllListeners("SIGTERM");
    process.removeAllListeners("SIGINT");
  });
});
