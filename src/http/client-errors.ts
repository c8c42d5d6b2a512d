/**
 * Errors Node's HTTP parser raises before Fastify sees a request (oversized headers, garbage): answered
 * with problem+json like everything else, then the connection is closed.
 */
import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { type ErrorCode, RampartError } from "../core/errors.ts";
import { PROBLEM_CONTENT_TYPE, toProblem } from "../core/problems.ts";

export function createClientErrorHandler(logger: Logger) {
  return function onClientError(error: Error & { code?: string }, socket: Socket): void {
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const code: ErrorCode = error.code === "HPE_HEADER_OVERFLOW" ? "RAMPART_ERR_HEADERS_TOO_LARGE" : "RAMPART_ERR_BAD_REQUEST";
    const requestId = randomUUID();
    logger.info({ requestId, code, parserError: error.code }, "rejected by the HTTP parser");
    const body = JSON.stringify(toProblem(new RampartError(code), requestId));
    socket.end(
      `HTTP/1.1 ${code === "RAMPART_ERR_HEADERS_TOO_LARGE" ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  };
}
