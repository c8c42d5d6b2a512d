/**
 * Verification of access tokens issued by another Rampart server: the same prechecks and claims rules
 * as the local verifier (alg pinned per kid, typ at+jwt, issuer, audience, no embedded keys), with the
 * keys from that server's JWKS. A token naming a kid we do not hold yet (the issuer rotated its key)
 * refreshes the set once, within the set's cooldown, then verifies again.
 */
import { RampartError } from "../errors.ts";
import { type AccessTokenClaims, type AccessTokenVerifier, createAccessTokenVerifier } from "./access-token.ts";
import type { RemoteKeySet } from "./remote-key-set.ts";

export interface RemoteAccessTokenVerifierOptions {
  keys: RemoteKeySet;
  issuer: string;
  audience: string | readonly string[];
  clockTolerance?: number;
  cacheSize?: number;
  clock?: () => number;
}

export function createRemoteAccessTokenVerifier(options: RemoteAccessTokenVerifierOptions): AccessTokenVerifier {
  const { keys, ...rest } = options;
  const local = createAccessTokenVerifier({ ...rest, keyRing: keys });
  return {
    verifyCached: local.verifyCached,
    // Without the one JWKS refetch an unknown kid may deserve: `verify` does that.
    verifyNow: local.verifyNow,
    async verify(token): Promise<AccessTokenClaims> {
      try {
        return await local.verify(token);
      } catch (error) {
        if (!(error instanceof RampartError) || error.reason !== "unknown kid" || !(await keys.refresh())) throw error;
        return local.verify(token);
      }
    },
  };
}
