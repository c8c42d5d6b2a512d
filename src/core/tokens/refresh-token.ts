/**
 * Opaque refresh tokens: 32 random bytes, base64url. Storage keeps only the SHA-256 (256 bits of
 * entropy need no slow hash; see `hashApiToken`). Rotation and reuse detection live with the store.
 */
import { randomBytes } from "node:crypto";
import { sha256Hex } from "./digest.ts";

const SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface GeneratedRefreshToken {
  /** Give to the client, never store. */
  readonly token: string;
  /** SHA-256 hex: what storage keeps and looks up. */
  readonly tokenHash: string;
}

export function generateRefreshToken(): GeneratedRefreshToken {
  const token = randomBytes(32).toString("base64url");
  return { token, tokenHash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return sha256Hex(token);
}

/** Cheap shape check so garbage never reaches a storage lookup. */
export function isRefreshTokenShaped(value: unknown): value is string {
  return typeof value === "string" && SHAPE.test(value);
}
