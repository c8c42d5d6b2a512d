/**
 * The signing keys of a remote Rampart server (its `/.well-known/jwks.json`), for a service that only
 * verifies access tokens. Keys are imported once and pinned to the `alg` each JWK names; a JWK without
 * an asymmetric `alg` we support, or with private members, is ignored (a JWKS is never a source of
 * HMAC secrets: that is the algorithm-confusion attack). An unknown `kid` triggers a refresh, at most
 * once per `cooldownMs`, so a flood of tokens with made-up kids costs the issuer one fetch per cooldown;
 * the set is also refreshed in the background once older than `maxAgeMs`, so retired keys go away.
 */
import { importJWK, type JWK } from "jose";
import { withTimeout } from "../timeout.ts";
import { signatureCheckFor } from "./signature.ts";
import type { RingKey } from "./key-ring.ts";
import { ALGORITHMS, type SigningAlgorithm } from "./keys.ts";

export interface RemoteKeySetOptions {
  /** The JWKS URL, e.g. https://auth.example.com/.well-known/jwks.json. */
  url: string | URL;
  /** Longest wait for one fetch. Default 5000 ms. */
  timeoutMs?: number;
  /** Least time between two fetches caused by unknown kids. Default 10 000 ms. */
  cooldownMs?: number;
  /** Age after which the set is refreshed in the background. Default 600 000 ms. */
  maxAgeMs?: number;
  /** Largest JWKS document accepted. Default 64 KiB. */
  maxBytes?: number;
  fetch?: typeof fetch;
  /** Epoch milliseconds; defaults to `Date.now`. */
  clock?: () => number;
}

export interface RemoteKeySet {
  /** The key for `kid`, if the last fetched set has it. Never fetches. */
  get(kid: string): RingKey | undefined;
  /** Fetches now unless a fetch ran within the cooldown; resolves to whether the set changed hands. */
  refresh(): Promise<boolean>;
  /** The first fetch (rejects when the JWKS cannot be had). */
  ready(): Promise<void>;
  /** kids currently held. */
  kids(): string[];
}

const REMOTE_ALGORITHMS: readonly SigningAlgorithm[] = ["EdDSA", "ES256"];

export class JwksFetchError extends Error {
  constructor(url: string, why: string) {
    super(`cannot load the JWKS at ${url}: ${why}`);
    this.name = "JwksFetchError";
  }
}

export function createRemoteKeySet(options: RemoteKeySetOptions): RemoteKeySet {
  const url = new URL(options.url);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError(`"url" must be an http(s) URL`);
  const timeoutMs = options.timeoutMs ?? 5000;
  const cooldownMs = options.cooldownMs ?? 10_000;
  const maxAgeMs = options.maxAgeMs ?? 600_000;
  const maxBytes = options.maxBytes ?? 65_536;
  const doFetch = options.fetch ?? fetch;
  const clock = options.clock ?? Date.now;

  let keys = new Map<string, RingKey>();
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;

  async function load(): Promise<void> {
    const controller = new AbortController();
    const response = await withTimeout(
      doFetch(url, { headers: { accept: "application/json" }, redirect: "error", signal: controller.signal }),
      timeoutMs,
      `the JWKS at ${url}`,
    ).catch((error: Error) => {
      controller.abort();
      throw new JwksFetchError(url.href, error.message);
    });
    if (!response.ok) throw new JwksFetchError(url.href, `HTTP ${response.status}`);
    const text = await response.text();
    if (text.length > maxBytes) throw new JwksFetchError(url.href, `larger than ${maxBytes} bytes`);
    let document: { keys?: unknown };
    try {
      document = JSON.parse(text);
    } catch {
      throw new JwksFetchError(url.href, "not JSON");
    }
    if (!document || !Array.isArray(document.keys)) throw new JwksFetchError(url.href, 'no "keys" array');
    const next = new Map<string, RingKey>();
    for (const jwk of document.keys as JWK[]) {
      const key = await importRemoteKey(jwk, clock);
      if (key && !next.has(key.kid)) next.set(key.kid, key);
    }
    keys = next;
  }

  function fetchNow(): Promise<void> {
    if (!inFlight) {
      fetchedAt = clock();
      inFlight = load().finally(() => {
        inFlight = undefined;
      });
    }
    return inFlight;
  }

  return {
    get(kid) {
      if (clock() - fetchedAt > maxAgeMs) fetchNow().catch(() => {});
      return keys.get(kid);
    },
    async refresh() {
      if (inFlight) {
        await inFlight.catch(() => {});
        return true;
      }
      if (clock() - fetchedAt < cooldownMs) return false;
      await fetchNow().catch(() => {});
      return true;
    },
    ready: () => fetchNow(),
    kids: () => [...keys.keys()],
  };
}

async function importRemoteKey(jwk: JWK, clock: () => number): Promise<RingKey | undefined> {
  if (!jwk || typeof jwk !== "object") return undefined;
  const alg = jwk.alg as SigningAlgorithm | undefined;
  if (typeof jwk.kid !== "string" || jwk.kid === "" || alg === undefined || !REMOTE_ALGORITHMS.includes(alg)) return undefined;
  if (jwk.use !== undefined && jwk.use !== "sig") return undefined;
  const spec = ALGORITHMS[alg];
  if (jwk.kty !== spec.kty || jwk.crv !== spec.crv || jwk.d !== undefined) return undefined;
  try {
    const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, ...(jwk.y ? { y: jwk.y } : {}) };
    const verificationKey = (await importJWK(publicJwk, alg)) as CryptoKey;
    return Object.freeze({
      kid: jwk.kid,
      alg,
      // A remote key never signs here; the field exists for the ring's shape.
      signingKey: verificationKey,
      verificationKey,
      checkSignature: signatureCheckFor(alg, publicJwk),
      createdAt: Math.floor(clock() / 1000),
      retiredAt: undefined,
      // The issuer drops a retired key from its JWKS once no token it signed can still be valid.
      verifiesUntil: Number.POSITIVE_INFINITY,
    });
  } catch {
    return undefined;
  }
}
