/**
 * Who a per-IP bucket belongs to, over HTTP on the reference server (memory store): forwarding headers are
 * believed only from a trusted proxy, so a client cannot rotate its way out of a limit; IPv6 clients are
 * limited per prefix (/56 by default), so rotating through one subscriber's addresses does not help either.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { loadConfig } from "../../../src/config/load.ts";
import { composeServer, type RampartServer } from "../../../src/server/compose.ts";

async function start(env: Record<string, string> = {}, rateLimit: Record<string, unknown> = {}): Promise<RampartServer> {
  const config = loadConfig({
    env: { RAMPART_DATA_DIR: mkdtempSync(join(tmpdir(), "rampart-rl-client-")), ...env },
    overrides: { rateLimit: { perIp: ["5/minute burst 5"], ...rateLimit } },
  });
  const server = await composeServer(config, pino({ level: "silent" }));
  await server.app.ready();
  return server;
}

/** Statuses of `GET /healthz` for each (socket address, headers) in order. */
async function statuses(server: RampartServer, requests: { ip: string; headers?: Record<string, string> }[]): Promise<number[]> {
  const out: number[] = [];
  for (const { ip, headers } of requests) {
    const res = await server.app.inject({ method: "GET", url: "/healthz", remoteAddress: ip, ...(headers ? { headers } : {}) });
    if (res.statusCode === 429) assert.equal(res.json().policy, "ip", res.body);
    out.push(res.statusCode);
  }
  return out;
}

const OK5_THEN_429 = [200, 200, 200, 200, 200, 429];
let octet = Math.floor(Math.random() * 250);
const freshIp = () => `198.18.${++octet % 256}.${Math.floor(Math.random() * 254) + 1}`;
const randomIp = () => `203.0.113.${Math.floor(Math.random() * 254) + 1}`;
const times = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i));

describe("forwarding headers and per-IP buckets", () => {
  describe("with no trusted proxies", () => {
    let server: RampartServer;
    before(async () => {
      server = await start();
    });
    after(() => server?.close());

    it("one socket address with rotating X-Forwarded-For values shares one bucket", async () => {
      const ip = freshIp();
      const requests = times(6, (i) => ({ ip, headers: { "x-forwarded-for": `192.0.2.${i + 1}` } }));
      assert.deepEqual(await statuses(server, requests), OK5_THEN_429);
    });

    it("nor do Forwarded, X-Real-IP or a multi-hop X-Forwarded-For open a new bucket", async () => {
      const ip = freshIp();
      const spoofs: Record<string, string>[] = [
        { forwarded: "for=192.0.2.60" },
        { "x-real-ip": "192.0.2.61" },
        { "x-forwarded-for": "192.0.2.62, 192.0.2.63" },
        { forwarded: 'for="[2001:db8::1]"', "x-forwarded-for": "192.0.2.64" },
        { "x-client-ip": "192.0.2.65", "true-client-ip": "192.0.2.66" },
        { "x-forwarded-for": "192.0.2.67" },
      ];
      assert.deepEqual(await statuses(server, spoofs.map((headers) => ({ ip, headers }))), OK5_THEN_429);
    });

    it("distinct socket addresses get distinct buckets", async () => {
      const [a, b] = [freshIp(), freshIp()];
      assert.deepEqual(await statuses(server, times(6, () => ({ ip: a }))), OK5_THEN_429);
      assert.deepEqual(await statuses(server, [{ ip: b }]), [200]);
    });
  });

  describe("with RAMPART_TRUSTED_PROXIES=10.0.0.1", () => {
    let server: RampartServer;
    before(async () => {
      server = await start({ RAMPART_TRUSTED_PROXIES: "10.0.0.1" });
    });
    after(() => server?.close());

    it("clients behind the proxy get separate buckets, the proxy's own address none", async () => {
      const clients = times(3, () => freshIp());
      // 5 requests for each of 3 clients: 15 through one proxy address, none refused.
      const requests = clients.flatMap((client) => times(5, () => ({ ip: "10.0.0.1", headers: { "x-forwarded-for": client } })));
      assert.ok((await statuses(server, requests)).every((status) => status === 200));
      // Each client's 6th is refused, whoever else shares the proxy.
      for (const client of clients) {
        assert.deepEqual(await statuses(server, [{ ip: "10.0.0.1", headers: { "x-forwarded-for": client } }]), [429]);
      }
      assert.deepEqual(await statuses(server, [{ ip: "10.0.0.1", headers: { "x-forwarded-for": freshIp() } }]), [200]);
    });

    it("believes RFC 7239 Forwarded from the proxy too", async () => {
      const client = freshIp();
      assert.deepEqual(await statuses(server, times(6, () => ({ ip: "10.0.0.1", headers: { forwarded: `for=${client}` } }))), OK5_THEN_429);
    });

    it("a client that writes its own X-Forwarded-For before the proxy appends its address gains nothing", async () => {
      // The proxy appends the address it saw: only the right-most untrusted hop identifies the client.
      const client = freshIp();
      const requests = times(6, () => ({ ip: "10.0.0.1", headers: { "x-forwarded-for": `${randomIp()}, ${client}` } }));
      assert.deepEqual(await statuses(server, requests), OK5_THEN_429);
    });

    it("an untrusted peer's X-Forwarded-For is still ignored", async () => {
      const ip = freshIp();
      const requests = times(6, () => ({ ip, headers: { "x-forwarded-for": randomIp() } }));
      assert.deepEqual(await statuses(server, requests), OK5_THEN_429);
    });
  });
});

describe("IPv6 clients are limited per prefix", () => {
  let server: RampartServer;
  let narrow: RampartServer;
  before(async () => {
    server = await start();
    narrow = await start({}, { ipv6Prefix: 64 });
  });
  after(async () => {
    await server?.close();
    await narrow?.close();
  });

  // A fresh /48 per run keeps the tests of one process apart.
  let site = Math.floor(Math.random() * 0xf000);
  const freshSite = () => `2001:db8:${(++site % 0xffff).toString(16)}`;

  it("two addresses in one /64 share a bucket", async () => {
    const net = `${freshSite()}:2`;
    const requests = [1, 2, 3].flatMap(() => [{ ip: `${net}::1` }, { ip: `${net}::ffff` }]);
    assert.deepEqual(await statuses(server, requests), OK5_THEN_429);
  });

  it("textual variants of one address are one client", async () => {
    const site48 = freshSite();
    const [, , third] = site48.split(":");
    const padded = `2001:0db8:${third!.padStart(4, "0")}:0002:0000:0000:0000:0001`;
    const requests = [`${site48}:2::1`, padded, `${site48.toUpperCase()}:2:0:0:0:1`, `${site48}:2::1%eth0`, `${site48}:2::1`, `${site48}:2::2`];
    assert.deepEqual(await statuses(server, requests.map((ip) => ({ ip }))), OK5_THEN_429);
  });

  it("by default (/56) two /64s of one /56 share a bucket, addresses in different /56s do not", async () => {
    const site48 = freshSite();
    // 2001:db8:x:100::/56 holds …:100:: to …:1ff::; …:200:: is the next /56.
    const requests = [1, 2, 3].flatMap(() => [{ ip: `${site48}:100::1` }, { ip: `${site48}:1ff::1` }]);
    assert.deepEqual(await statuses(server, requests), OK5_THEN_429);
    assert.deepEqual(await statuses(server, [{ ip: `${site48}:200::1` }]), [200]);
    assert.deepEqual(await statuses(server, [{ ip: `${freshSite()}:100::1` }]), [200]);
  });

  it("with ipv6Prefix 64, neighbouring /64s get separate buckets", async () => {
    const site48 = freshSite();
    const requests = times(5, () => ({ ip: `${site48}:100::1` }));
    assert.ok((await statuses(narrow, requests)).every((status) => status === 200));
    assert.deepEqual(await statuses(narrow, [{ ip: `${site48}:100::ffff:1` }, { ip: `${site48}:101::1` }]), [429, 200]);
  });

  it("an IPv4-mapped IPv6 socket address is the IPv4 client", async () => {
    const v4 = freshIp();
    const requests = times(6, (i) => ({ ip: i % 2 === 0 ? v4 : `::ffff:${v4}` }));
    assert.deepEqual(await statuses(server, requests), OK5_THEN_429);
  });
});
