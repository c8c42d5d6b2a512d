/**
 * One HTTP/1.1 request written byte for byte on a socket: for targets and headers that fetch() and
 * node:http would normalise or refuse (dot segments, backslashes, NUL, duplicate or underscored names).
 * Resolves once the response's headers and its Content-Length of body have arrived, or the server
 * closes; a server that sends nothing for `timeoutMs` gives status 0.
 */
import net from "node:net";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function parse(text: string): RawResponse & { complete: boolean } {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return { status: 0, headers: {}, body: "", complete: false };
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = text.slice(end + 4);
  const length = headers["content-length"];
  return { status: Number(statusLine.split(" ")[1] ?? 0), headers, body, complete: length !== undefined && Buffer.byteLength(body, "latin1") >= Number(length) };
}

export function rawRequest(port: number, head: string, body = "", timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // Written, not ended: Node closes a half-closed connection before an asynchronous answer is sent.
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`${head}\r\n\r\n${body}`));
    let text = "";
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const { complete: _complete, ...response } = parse(text);
      resolve(response);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => {
      text += chunk;
      if (parse(text).complete) finish();
    });
    socket.on("error", (error) => (settled ? undefined : reject(error)));
    socket.on("close", finish);
  });
}
