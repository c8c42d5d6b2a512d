/**
 * The floor of any Node proxy in the gateway benchmark: bare Fastify + @fastify/reply-from (the
 * gateway's own forwarding library, same undici pool settings) in front of bench/servers/upstream.ts,
 * checking nothing. The gateway's added latency is reported against the upstream and against this.
 *
 *   RAMPART_UPSTREAM=http://127.0.0.1:PORT node --import tsx bench/servers/proxy-baseline.ts
 */
import replyFrom from "@fastify/reply-from";
import Fastify from "fastify";
import { announce, exitWith, HOST, ITEMS_PATH } from "./common.ts";

const app = Fastify({ logger: false });
await app.register(replyFrom, {
  base: process.env.RAMPART_UPSTREAM ?? "",
  disableRequestLogging: true,
  undici: { connections: 128, pipelining: 1, keepAliveTimeout: 4_000 },
});
app.get(ITEMS_PATH, (_request, reply) => reply.from(ITEMS_PATH));
const address = await app.listen({ host: HOST, port: 0 });
announce({ port: Number(new URL(address).port), note: "bare reply-from proxy" });
exitWith(() => app.close());
