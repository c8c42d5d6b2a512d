/**
 * What every benchmark server shares: the JSON list handler's data and schemas, the CORS origin the
 * runner sends, and the start-up announcement. Each server prints ONE JSON line on stdout once it
 * listens (`Announcement`); the runner reads it, then drives the server over loopback.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "node:http";

export const HOST = "127.0.0.1";
export const ORIGIN = "http://app.bench.test";
export const ITEMS_PATH = "/api/items";
export const BENCH_PASSWORD = "correct horse battery staple, forty-two times over";

export interface Item {
  id: number;
  name: string;
  price: number;
  inStock: boolean;
  tags: string[];
}

/** 100 small objects; the handler returns the first `limit` (10 in the benchmark). */
export const ITEMS: readonly Item[] = Array.from({ length: 100 }, (_, i) => ({
  id: i + 1,
  name: `item ${i + 1}`,
  price: Math.round((i + 1) * 1.25 * 100) / 100,
  inStock: i % 3 !== 0,
  tags: ["bench", i % 2 === 0 ? "even" : "odd"],
}));

export function listItems(limit: number): { items: Item[] } {
  return { items: ITEMS.slice(0, limit) };
}

/** JSON Schemas (plain objects) for the servers that validate and serialise: same shape everywhere. */
export const QUERY_SCHEMA = {
  type: "object",
  properties: { limit: { type: "integer", minimum: 1, maximum: 100 } },
  required: ["limit"],
  additionalProperties: false,
} as const;

export const ITEM_SCHEMA = {
  type: "object",
  properties: {
    id: { type: "integer" },
    name: { type: "string" },
    price: { type: "number" },
    inStock: { type: "boolean" },
    tags: { type: "array", items: { type: "string" } },
  },
  required: ["id", "name", "price", "inStock", "tags"],
} as const;

export const RESPONSE_SCHEMA = {
  type: "object",
  properties: { items: { type: "array", items: ITEM_SCHEMA } },
  required: ["items"],
} as const;

export interface Announcement {
  port: number;
  /** Credential that must get 200 (sent as `Authorization: Bearer`). */
  token?: string;
  /** Credential of a caller lacking the role / permission: must get 403. */
  forbiddenToken?: string;
  /** A cheap authenticated route for the login benchmark (Rampart only). */
  cheapPath?: string;
  /** Credentials of the bench user for the login benchmark (Rampart only). */
  login?: { email: string; password: string };
  /** Anything the runner should print about this server (e.g. "Redis store"). */
  note?: string;
  /**
   * Cold-token runs: a file of distinct valid tokens, one per line, that the load generator sends in
   * turn (one per request, cycling), so that a verified-token cache smaller than the file never hits.
   */
  tokensFile?: string;
}

/** `--cold N` on the command line: how many distinct tokens to mint for a cold-token run (0: none). */
export function coldTokenCount(argv: readonly string[] = process.argv): number {
  const at = argv.indexOf("--cold");
  return at === -1 ? 0 : Number(argv[at + 1] ?? 20_000);
}

/** Writes tokens to a temp file (one per line) for the load generator; returns its path. */
export function writeTokensFile(tokens: readonly string[]): string {
  const file = join(mkdtempSync(join(tmpdir(), "rampart-bench-tokens-")), "tokens.txt");
  writeFileSync(file, `${tokens.join("\n")}\n`);
  return file;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export function announce(announcement: Announcement): void {
  process.stdout.write(`${JSON.stringify(announcement)}\n`);
}

/** Exit cleanly on a signal, or (when started by the runner, BENCH_PARENT=1) when it closes our stdin. */
export function exitWith(close: () => Promise<void> | void): void {
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    Promise.resolve()
      .then(close)
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  if (process.env.BENCH_PARENT === "1") {
    process.stdin.on("end", stop);
    process.stdin.resume();
  }
}
