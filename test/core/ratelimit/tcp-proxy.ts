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
      client.on("data", (chunk) => {
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
