/**
 * Slow clients against a listening server with small configured bounds: a body trickled a byte at a
 * time (slowloris on the body), headers trickled the same way, an idle keep-alive connection, and one
 * address opening more connections than the per-address cap. Real sockets and real time: these are
 * the server's own timers, so each case waits about a second.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { makeApp } from "../support/app.ts";

const routes = async (app: FastifyInstance) => {
  app.post("/echo", { config: { rampart: { auth: "public" } } }, async (request) => request.body);
  app.get("/ok", { config: { rampart: { auth: "public" } } }, async () => ({ ok: true }));
};

interface Outcome {
  text: string;
  closedAfterMs: number;
}

/** Writes `head`, then one byte of `trickle` every `everyMs`, until the server answers or closes. */
function slowClient(port: number, head: string, trickle: string, everyMs: number, localAddress?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect({ port, host: "127.0.0.1", ...(localAddress ? { localAddress } : {}) });
    let text = "";
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding("latin1");
    socket.on("connect", () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent < trickle.length && socket.writable) socket.write(trickle[sent++]!);
      }, everyMs);
    });
    socket.on("data", (chunk) => {
      text += chunk;
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after 8 s; received: ${text}`));
    }, 8000).unref();
  });
}

/** An open connection that has sent nothing yet; resolves when connected, `closed` when the server drops it. */
function openConnection(port: number, localAddress: string) {
  const socket = net.connect({ port, host: "127.0.0.1", localAddress });
  socket.on("error", () => {});
  let text = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk) => {
    text += chunk;
  });
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  const connected = new Promise<void>((resolve) => socket.on("connect", () => resolve()));
  return { socket, closed, connected, text: () => text };
}

async function get(port: number, localAddress: string): Promise<string> {
  const c = openConnection(port, localAddress);
  await c.connected;
  c.socket.write(`GET /ok HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  await c.closed;
  return c.text();
}

const statusOf = (text: string) => Number(text.split(" ")[1] ?? 0);

describe("slow clients are cut off within the configured bounds", () => {
  let app: FastifyInstance;
  let port: number;
  before(async () => {
    ({ app } = await makeApp({
      routes,
      overrides: { timeouts: { headersSeconds: 1, requestSeconds: 1, keepAliveSeconds: 1 }, limits: { connectionsPerAddress: 3 } },
    }));
    await app.listen({ port: 0, host: "127.0.0.1" });
    port = (app.server.address() as { port: number }).port;
  });
  after(async () => {
    await app.close();
  });

  it("a body trickled one byte at a time: 408 problem+json and the connection closed within the request bound", async () => {
    const head = `POST /echo HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n`;
    const outcome = await slowClient(port, head, `{"a":"${"x".repeat(56)}"}`, 200);
    assert.equal(statusOf(outcome.text), 408, outcome.text);
    assert.match(outcome.text, /content-type: application\/problem\+json/i);
    assert.match(outcome.text, /x-content-type-options: nosniff/i);
    assert.match(outcome.text, /content-security-policy: default-src 'none'/i);
    assert.match(outcome.text, /x-request-id: /i);
    assert.ok(outcome.closedAfterMs < 3500, `closed after ${outcome.closedAfterMs} ms`);
  });

  it("headers trickled one byte at a time: 408 and closed within the header bound", async () => {
    const outcome = await slowClient(port, "GET /ok HTTP/1.1\r\n", `Host: 127.0.0.1\r\nX-Slow: ${"a".repeat(100)}\r\n\r\n`, 200);
    assert.equal(statusOf(outcome.text), 408, outcome.text);
    assert.ok(outcome.closedAfterMs < 3500, `closed after ${outcome.closedAfterMs} ms`);
  });

  it("an idle keep-alive connection is closed after keepAliveSeconds", async () => {
    const c = openConnection(port, "127.0.0.1");
    await c.connected;
    const started = Date.now();
    c.socket.write(`GET /ok HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await c.closed;
    assert.equal(statusOf(c.text()), 200, c.text());
    assert.ok(Date.now() - started < 3000, `idle connection kept ${Date.now() - started} ms`);
  });

  it("one address over the connection cap: the extra connection is closed, another address is served", async () => {
    const held = await Promise.all([1, 2, 3].map(async () => {
      const c = openConnection(port, "127.0.0.2");
      await c.connected;
      return c;
    }));
    try {
      const extra = openConnection(port, "127.0.0.2");
      await extra.connected;
      extra.socket.write(`GET /ok HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      await extra.closed;
      assert.equal(extra.text(), "", "the connection over the cap got no answer");
      assert.equal(statusOf(await get(port, "127.0.0.3")), 200, "another address is served meanwhile");
    } finally {
      for (const c of held) c.socket.destroy();
      await Promise.all(held.map((c) => c.closed));
    }
    // Once the held connections are gone the address may connect again.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(statusOf(await get(port, "127.0.0.2")), 200);
  });
});

describe("the connection cap and trusted proxies", () => {
  it("a trusted proxy's address is not capped: every client behind it shares that address", async () => {
    const { app } = await makeApp({ routes, overrides: { trustedProxies: ["127.0.0.4"], limits: { connectionsPerAddress: 1 } } });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const port = (app.server.address() as { port: number }).port;
    try {
      const held = openConnection(port, "127.0.0.4");
      await held.connected;
      assert.equal(statusOf(await get(port, "127.0.0.4")), 200);
      held.socket.destroy();
    } finally {
      await app.close();
    }
  });
});
