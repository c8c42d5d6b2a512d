/**
 * The upstream of the gateway benchmark: a bare node:http JSON API, the same one called directly and
 * through `rampart gateway`, so the difference is the gateway's. It checks nothing and logs nothing.
 *
 *   node --import tsx bench/servers/upstream.ts
 */
import { createServer } from "node:http";
import { announce, exitWith, HOST, listItems, portOf } from "./common.ts";

const body = JSON.stringify(listItems(10));
const server = createServer((request, response) => {
  if (request.url?.startsWith("/api/items")) {
    response.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    response.end(body);
    return;
  }
  response.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, HOST, () => announce({ port: portOf(server) }));
exitWith(() => new Promise<void>((resolve) => server.close(() => resolve())));
