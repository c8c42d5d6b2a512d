/**
 * Listening and graceful shutdown. On SIGTERM/SIGINT: stop accepting connections, let in-flight
 * requests finish within `shutdownGraceMs`, close the stores, exit. A second signal, or the grace
 * period running out, exits at once.
 */
import type { RampartServer } from "./compose.ts";
import type { ResolvedConfig } from "../config/resolve.ts";

export async function listen(server: RampartServer, config: ResolvedConfig): Promise<string> {
  const address = await server.app.listen({ host: config.host, port: config.port });
  return address;
}

export function handleSignals(server: RampartServer, config: ResolvedConfig, exit: (code: number) => void = process.exit) {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    const log = server.app.log;
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      exit(1);
      return;
    }
    stopping = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down: finishing in-flight requests");
    const timer = setTimeout(() => {
      log.error({ graceMs: config.shutdownGraceMs }, "grace period over: exiting with requests still in flight");
      exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    server.close().then(
      () => {
        clearTimeout(timer);
        log.info("shut down cleanly");
        exit(0);
      },
      (error) => {
        log.error({ err: error }, "error while shutting down");
        exit(1);
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
