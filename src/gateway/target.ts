/**
 * Canonical request targets for the gateway, decided before routing (Fastify's `rewriteUrl`): the
 * router, the rule and the upstream all see one form. An ambiguous target is sent to an internal
 * route that answers 400 after the usual early stages (HTTPS enforcement, per-IP limit), and is
 * never forwarded.
 */
import type { IncomingMessage } from "node:http";
import { canonicalizeTarget } from "./path.ts";

/** Canonical targets never contain an empty segment, so no client can name this path itself. */
export const AMBIGUOUS_TARGET_ROUTE = "/.rampart//ambiguous";

const CANONICAL = Symbol("rampart.canonical");
const REFUSAL = Symbol("rampart.refusal");

type Tagged = IncomingMessage & { [CANONICAL]?: { path: string; forward: string }; [REFUSAL]?: string };

export function rewriteToCanonical(raw: IncomingMessage): string {
  const tagged = raw as Tagged;
  // No rule admits protocol upgrades (WebSocket, h2c): refused like an ambiguous target, never forwarded.
  if (raw.headers.upgrade !== undefined) {
    tagged[REFUSAL] = `upgrade to ${JSON.stringify(raw.headers.upgrade)} refused`;
    return AMBIGUOUS_TARGET_ROUTE;
  }
  const result = canonicalizeTarget(raw.url ?? "");
  if (!result.ok) {
    tagged[REFUSAL] = result.reason;
    return AMBIGUOUS_TARGET_ROUTE;
  }
  tagged[CANONICAL] = { path: result.path, forward: result.forward };
  return result.forward;
}

/** The canonical target of a request that passed `rewriteToCanonical`. */
export function canonicalOf(raw: IncomingMessage): { path: string; forward: string } | undefined {
  return (raw as Tagged)[CANONICAL];
}

export function refusalOf(raw: IncomingMessage): string | undefined {
  return (raw as Tagged)[REFUSAL];
}
