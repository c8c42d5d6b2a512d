/**
 * The plugin cannot set Fastify's `frameworkErrors` constructor option, so an application passes
 * `rampartFrameworkErrors`: with it, a path that does not decode is problem+json with the security
 * headers; without it, the plugin says so at registration.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, describe, it } from "node:test";
import Fastify, { type FastifyServerOptions } from "fastify";
import rampart, { rampartFrameworkErrors } from "../../src/index.ts";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function appWith(options: FastifyServerOptions) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(String(chunk));
      callback();
    },
  });
  const app = Fastify({ ...options, logger: { level: "warn", stream } });
  const dataDir = mkdtempSync(join(tmpdir(), "rampart-fw-"));
  dirs.push(dataDir);
  await app.register(rampart, { dataDir });
  app.get("/api/items/:id", { config: { rampart: { auth: "public" } } }, async () => ({ ok: true }));
  await app.ready();
  return { app, lines };
}

describe("rampart plugin: errors before routing", () => {
  it("with frameworkErrors: rampartFrameworkErrors, /api/items/%ff%fe and %c0%ae are 400 problem+json with the headers", async () => {
    const { app, lines } = await appWith({ frameworkErrors: rampartFrameworkErrors });
    try {
      for (const url of ["/api/items/%ff%fe", "/api/items/%c0%ae"]) {
        const res = await app.inject({ method: "GET", url });
        assert.equal(res.statusCode, 400, res.body);
        assert.match(String(res.headers["content-type"]), /^application\/problem\+json/);
        assert.equal(res.headers["x-content-type-options"], "nosniff");
        assert.match(String(res.headers["content-security-policy"]), /default-src 'none'/);
        assert.equal(res.json().requestId, res.headers["x-request-id"]);
      }
      assert.ok(!lines.some((line) => line.includes("RAMPART_WARN_FRAMEWORK_ERRORS")));
    } finally {
      await app.close();
    }
  });

  it("without it, registration warns naming the option to pass", async () => {
    const { app, lines } = await appWith({});
    try {
      assert.ok(lines.some((line) => line.includes("RAMPART_WARN_FRAMEWORK_ERRORS") && line.includes("rampartFrameworkErrors")), lines.join("\n"));
    } finally {
      await app.close();
    }
  });
});
