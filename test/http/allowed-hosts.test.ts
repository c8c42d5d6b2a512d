/**
 * RAMPART_ALLOWED_HOSTS (CONTRACT, start-up knobs): the Host header must name an allowed host, else
 * 400 problem+json before the handler runs; `.example.com` admits subdomains; a name without a port
 * matches any port; redirects are built only from allowed hosts; two Host headers are refused.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.ts";
import { makeApp, PRODUCTION_BEHIND_PROXY } from "../support/app.ts";

let runs = 0;
const routes = async (app: import("fastify").FastifyInstance) => {
  app.get("/public", { config: { rampart: { auth: "public" } } }, async () => {
    runs++;
    return { ok: true };
  });
};

describe("allowed hosts", () => {
  it("admits listed names (any port unless one is given, subdomains of a dotted entry) and refuses the rest with 400", async () => {
    const { app } = await makeApp({ env: { RAMPART_ALLOWED_HOSTS: "api.example.com, .example.org, admin.example.net:8443" }, routes });
    const status = async (host: string) => (await app.inject({ url: "/public", headers: { host } })).statusCode;
    assert.equal(await status("api.example.com"), 200);
    assert.equal(await status("API.Example.COM:8080"), 200);
    assert.equal(await status("api.example.com."), 200);
    assert.equal(await status("example.org"), 200);
    assert.equal(await status("deep.sub.example.org"), 200);
    assert.equal(await status("admin.example.net:8443"), 200);
    runs = 0;
    for (const host of ["evil.test", "api.example.com.evil.test", "evilexample.org", "admin.example.net", "admin.example.net:443", "api.example.com@evil.test", "api.example.com/x", ""]) {
      const response = await app.inject({ url: "/public", headers: { host } });
      assert.equal(response.statusCode, 400, `host ${JSON.stringify(host)}`);
      assert.equal(response.headers["content-type"], "application/problem+json; charset=utf-8");
      assert.equal(response.json().title, "Host not allowed");
    }
    assert.equal(runs, 0);
    await app.close();
  });

  it("in production, a redirect to HTTPS is built only for an allowed host", async () => {
    const { app } = await makeApp({ env: { ...PRODUCTION_BEHIND_PROXY, RAMPART_ALLOWED_HOSTS: "api.example.com" }, overrides: { https: { redirect: true } }, routes });
    const allowed = await app.inject({ url: "/public", headers: { host: "api.example.com" } });
    assert.equal(allowed.statusCode, 308);
    assert.equal(allowed.headers.location, "https://api.example.com/public");
    const other = await app.inject({ url: "/public", headers: { host: "evil.test" } });
    assert.equal(other.statusCode, 403);
    assert.equal(other.headers.location, undefined);
    await app.close();
  });

  it("two Host headers are refused, even when both are allowed", async () => {
    const { app } = await makeApp({ env: { RAMPART_ALLOWED_HOSTS: "a.example.com,b.example.com" }, routes });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as net.AddressInfo;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.end("GET /public HTTP/1.1\r\nHost: a.example.com\r\nHost: b.example.com\r\nConnection: close\r\n\r\n");
      });
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk;
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    await app.close();
  });

  it("an invalid entry stops start-up naming it", () => {
    assert.throws(() => loadConfig({ env: { RAMPART_ALLOWED_HOSTS: "api.example.com,https://x.test" } }), /allowedHosts\/1/);
  });
});
