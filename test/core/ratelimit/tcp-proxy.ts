/**
 * A TCP proxy the Redis tests control, to make Redis vanish, hang and come back on one fixed port without
 * touching the real server (shared with other suites).
 */
import { once } from "node:events";
import net from "node:net";

export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  #blackhole = false;
  port = 0;
  /** Redis commands clients sent through the proxy (counted on the wire, RESP arrays), by name. */
  readonly commands = new Map<string, number>();

  constructor(targetUrl: string) {
    const { hostname, port } = new URL(targetUrl);
    this.#target = { host: hostname, port: Number(port || 6379) };
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Listens (again) on the same port, forwarding both ways. */
  async start(): Promise<void> {
    this.#blackhole = false;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.#target);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      const counter = respCommandCounter((name) => this.commands.set(name, (this.commands.get(name) ?? 0) + 1));
      client.on("data", (chunk: Buffer) => {
        counter(chunk);
        if (!this.#blackhole) upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    this.#server = server;
    server.listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** Keeps connections open but swallows every command: Redis "hangs". */
  hang(): void {
    this.#blackhole = true;
  }

  /** Drops every connection and stops listening: Redis is "down". */
  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Feeds on a client's byte stream and calls `onCommand` with each command's name (upper case). Clients
 * send commands as RESP arrays of bulk strings: `*<n>\r\n` then n × `$<len>\r\n<bytes>\r\n`.
 */
export function respCommandCounter(onCommand: (name: string) => void): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      const parsed = parseCommand(buffer);
      if (!parsed) return;
      onCommand(parsed.name);
      buffer = buffer.subarray(parsed.length);
    }
  };
}

function parseCommand(buffer: Buffer): { name: string; length: number } | undefined {
  const line = (from: number) => {
    const end = buffer.indexOf("\r\n", from);
    return end === -1 ? undefined : { text: buffer.toString("latin1", from, end), next: end + 2 };
  };
  const header = line(0);
  if (!header) return undefined;
  if (!header.text.startsWith("*")) throw new Error(`not a RESP array: ${JSON.stringify(header.text)}`);
  let at = header.next;
  let name = "";
  for (let i = 0; i < Number(header.text.slice(1)); i++) {
    const size = line(at);
    if (!size) return undefined;
    const length = Number(size.text.slice(1));
    if (buffer.length < size.next + length + 2) return undefined;
    if (i === 0) name = buffer.toString("latin1", size.next, size.next + length).toUpperCase();
    at = size.next + length + 2;
  }
  return { name, length: at };
}
