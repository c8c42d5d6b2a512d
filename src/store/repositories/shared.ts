/** Small helpers shared by the repositories: clock, timestamp and JSON columns, paging, transactions. */
import type { Kysely } from "kysely";
import type { Database } from "../schema.ts";

export type Clock = () => Date;

export interface RepositoryOptions {
  /** Source of "now" for created/updated/spent/revoked timestamps. Default: the system clock. */
  clock?: Clock;
}

export const systemClock: Clock = () => new Date();

export const toIso = (date: Date): string => date.toISOString();
export const fromIso = (text: string): Date => new Date(text);
export const fromIsoOrNull = (text: string | null): Date | null => (text === null ? null : new Date(text));
export const toIsoOrNull = (date: Date | null | undefined): string | null => (date ? date.toISOString() : null);

export interface Page {
  /** 1..500; out-of-range values are clamped, a missing or non-numeric one means `fallback`. */
  limit?: number;
  offset?: number;
}

export function clampLimit(limit: number | undefined, fallback: number, max = 500): number {
  if (limit === undefined || !Number.isFinite(limit)) return fallback;
  return Math.min(max, Math.max(1, Math.trunc(limit)));
}

export function clampOffset(offset: number | undefined): number {
  if (offset === undefined || !Number.isFinite(offset)) return 0;
  return Math.max(0, Math.trunc(offset));
}

/** Runs `work` in a transaction, or inside the caller's when `db` already is one. */
export function inTransaction<T>(db: Kysely<Database>, work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

/** Parses a JSON-array-of-strings column; anything else is corruption and fails closed. */
export function parseStringList(text: string, column: string): string[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new TypeError(`column ${column} does not hold a JSON array of strings`);
  }
  return value;
}

export function parseObject(text: string, column: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`column ${column} does not hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

export const uniqueSorted = (items: Iterable<string>): string[] => [...new Set(items)].sort();
