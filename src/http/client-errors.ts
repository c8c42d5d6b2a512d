/**
 * Errors Node's HTTP server raises before or outside Fastify's request handling (oversized headers,
 * garbage, and the slow-client deadlines `timeouts.headersSeconds` / `timeouts.requestSeconds`):
 * answered with problem+json and the API header set like everything else, then the connection is closed.
 *
 * A deadline reaches us as ERR_HTTP_REQUEST_TIMEOUT; without this handler Node would write its own bare
 * `408` (no body, no headers), so the 408 here is ours. When a response is already under way on the
 * socket nothing more can be written: the socket is destroyed.
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { ResolvedConfig } from "../config/resolve.ts";
import { type ErrorCode, ERRORS, RampartError } from "../core/errors.ts";
import { PROBLEM_CONTENT_TYPE, toProblem } from "../core/problems.ts";
import { captureHelmetHeaders, hstsValue } from "./stages/headers.ts";

const CODES: Readonly<Record<string, ErrorCode>> = {
  HPE_HEADER_OVERFLOW: "RAMPART_ERR_HEADERS_TOO_LARGE",
  ERR_HTTP_REQUEST_TIMEOUT: "RAMPART_ERR_REQUEST_TIMEOUT",
};

function headerLines(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
}

export function createClientErrorHandler(logger: Logger, hsts?: ResolvedConfig["https"]["hsts"]) {
  // The same set the headers stage sends; HSTS only on a TLS socket (no forwarding header is parsed here).
  const plain = headerLines({ ...captureHelmetHeaders(), "cache-control": "no-store" });
  const hstsHeader = hsts ? hstsValue(hsts) : undefined;
  const secure = hstsHeader ? `${plain}strict-transport-security: ${hstsHeader}\r\n` : plain;

  return function onClientError(error: Error & { code?: string }, socket: Socket & { _httpMessage?: ServerResponse | null; encrypted?: boolean }): void {
    if (error.code === "ECONNRESET" || !socket.writable || socket._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const code: ErrorCode = (error.code && CODES[error.code]) || "RAMPART_ERR_BAD_REQUEST";
    const requestId = randomUUID();
    logger.info({ requestId, code, parserError: error.code }, "rejected by the HTTP server");
    const { status, title } = ERRORS[code];
    const body = JSON.stringify(toProblem(new RampartError(code), requestId));
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n${socket.encrypted ? secure : plain}Connection: close\r\n\r\n${body}`,
    );
  };
}
