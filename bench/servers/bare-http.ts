/** Ceiling 1: node:http, no framework, no protections. */
import { createServer } from "node:http";
import { announce, exitWith, HOST, ITEMS_PATH, listItems, portOf } from "./common.ts";

const server = createServer((request, response) => {
  const url = request.url ?? "/";
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  if (request.method !== "GET" || path !== ITEMS_PATH) {
    response.writeHead(404, { "content-type": "application/json; charset=utf-8" });
    response.end('{"error":"not found"}');
    return;
  }
  const limit = Number(new URLSearchParams(q === -1 ? "" : url.slice(q + 1)).get("limit") ?? 10);
  const body = JSON.stringify(listItems(Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : 10));
  response.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  response.end(body);
});

server.listen(0, HOST, () => {
  announce({ port: portOf(server) });
  exitWith(() => new Promise<void>((resolve) => server.close(() => resolve())));
});
