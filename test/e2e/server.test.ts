import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startServer, type ServerProcess } from "../support/server-process.ts";

describe("the real server over HTTP", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({ RAMPART_DATA_DIR: mkdtempSync(join(tmpdir(), "rampart-e2e-")) });
  });
  after(async () => {
    await server.stop();
  });

  it("answers /healthz and /readyz", async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });
    assert.equal(health.headers.get("x-content-type-options"), "nosniff");
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
  });

  it("prints where it listens, the mode and the storage", () => {
    assert.match(server.output(), /listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(server.output(), /mode: development/);
    assert.match(server.output(), /storage: /);
  });

  it("answers oversized headers with 431 problem+json", async () => {
    const { port } = new URL(server.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), "127.0.0.1", () => {
        socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20000)}\r\n\r\n`);
      });
      let data = "";
      socket.on("data", (chunk) => {
        data += chunk;
      });
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    assert.match(raw, /^HTTP\/1\.1 431/);
    assert.match(raw, /application\/problem\+json/);
    assert.match(raw, /"status":431/);
  });
});

describe("production start-up", () => {
  it("refuses to start on unsafe configuration and names each problem", async () => {
    await assert.rejects(
      startServer({ RAMPART_ENV: "production", RAMPART_DATA_DIR: mkdtempSync(join(tmpdir(), "rampart-e2e-")) }),
      (error: Error) => /RAMPART_CHECK_NO_HTTPS/.test(error.message) && /exited with 1/.test(error.message),
    );
  });

  it("refuses an invalid config naming the key", async () => {
    await assert.rejects(startServer({ PORT: "nope" }), (error: Error) => /PORT \(\/port\)/.test(error.message) && /exited with 2/.test(error.message));
  });
});
