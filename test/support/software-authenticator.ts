/**
 * A software WebAuthn authenticator for tests, built on node:crypto: an ES256 (P-256) key pair, and
 * the bytes a real authenticator and browser would produce — clientDataJSON, authenticatorData (with
 * attested credential data at registration), a "none" attestation object in CBOR, and DER ECDSA
 * signatures over authenticatorData ‖ SHA-256(clientDataJSON). Nothing of the library under test is
 * mocked; only its CBOR encoder is borrowed.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";

export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;
export const FLAG_AT = 0x40;

export interface CeremonyOverrides {
  /** clientDataJSON.origin; default the authenticator's origin. */
  origin?: string;
  /** clientDataJSON.type; default webauthn.create / webauthn.get. */
  type?: string;
  /** clientDataJSON.challenge; default the options' challenge. */
  challenge?: string;
  /** authenticatorData flags; default UP|UV (|AT at registration). */
  flags?: number;
  /** The signature counter to report; default the next one. */
  counter?: number;
  /** authenticatorData.rpIdHash is SHA-256 of this; default the authenticator's RP ID. */
  rpId?: string;
}

export interface RegistrationJSON {
  id: string;
  rawId: string;
  type: "public-key";
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
  clientExtensionResults: Record<string, never>;
  authenticatorAttachment: "platform";
}

export interface AssertionJSON {
  id: string;
  rawId: string;
  type: "public-key";
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
  clientExtensionResults: Record<string, never>;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest();
const b64url = (data: Buffer | Uint8Array) => Buffer.from(data).toString("base64url");

/** The credential public key as a COSE_Key (RFC 9053 §7.1.1): kty EC2, alg ES256, crv P-256, x, y. */
function coseKey(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: "jwk" });
  return isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, new Uint8Array(Buffer.from(String(jwk.x), "base64url"))],
      [-3, new Uint8Array(Buffer.from(String(jwk.y), "base64url"))],
    ]),
  );
}

export function createSoftwareAuthenticator(options: { rpId?: string; origin?: string } = {}) {
  const rpId = options.rpId ?? "localhost";
  const origin = options.origin ?? "http://localhost:8080";
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const credentialId = randomBytes(32);
  let counter = 0;
  let userHandle: string | undefined;

  const clientData = (type: string, challenge: string, o: CeremonyOverrides) =>
    Buffer.from(JSON.stringify({ type: o.type ?? type, challenge: o.challenge ?? challenge, origin: o.origin ?? origin, crossOrigin: false }));

  const authData = (flags: number, count: number, o: CeremonyOverrides, attested?: Buffer) => {
    const head = Buffer.alloc(37);
    sha256(o.rpId ?? rpId).copy(head, 0);
    head.writeUInt8(flags, 32);
    head.writeUInt32BE(count, 33);
    return attested ? Buffer.concat([head, attested]) : head;
  };

  return {
    rpId,
    origin,
    credentialId: b64url(credentialId),
    get counter() {
      return counter;
    },
    /** Sets the counter the next assertion starts from (a cloned authenticator lags behind). */
    set counter(value: number) {
      counter = value;
    },

    /** navigator.credentials.create() then toJSON(), for the server's creation options. */
    register(creation: { challenge: string; user: { id: string } }, o: CeremonyOverrides = {}): RegistrationJSON {
      userHandle = creation.user.id;
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(credentialId.length);
      // Attested credential data: AAGUID (zeros: no attestation), credential id length and id, COSE key.
      const attested = Buffer.concat([Buffer.alloc(16), idLength, credentialId, Buffer.from(coseKey(publicKey))]);
      const count = o.counter ?? counter;
      const data = authData(o.flags ?? FLAG_UP | FLAG_UV | FLAG_AT, count, o, attested);
      const attestationObject = isoCBOR.encode(
        new Map<string, string | Uint8Array | Map<string, string>>([
          ["fmt", "none"],
          ["attStmt", new Map<string, string>()],
          ["authData", new Uint8Array(data)],
        ]),
      );
      return {
        id: b64url(credentialId),
        rawId: b64url(credentialId),
        type: "public-key",
        response: {
          clientDataJSON: b64url(clientData("webauthn.create", creation.challenge, o)),
          attestationObject: b64url(attestationObject),
          transports: ["internal"],
        },
        clientExtensionResults: {},
        authenticatorAttachment: "platform",
      };
    },

    /** navigator.credentials.get() then toJSON(), for the server's request options. */
    assert(request: { challenge: string }, o: CeremonyOverrides = {}): AssertionJSON {
      counter = o.counter ?? counter + 1;
      const data = authData(o.flags ?? FLAG_UP | FLAG_UV, counter, o);
      const client = clientData("webauthn.get", request.challenge, o);
      const signature = sign("sha256", Buffer.concat([data, sha256(client)]), privateKey); // DER for EC keys
      return {
        id: b64url(credentialId),
        rawId: b64url(credentialId),
        type: "public-key",
        response: {
          clientDataJSON: b64url(client),
          authenticatorData: b64url(data),
          signature: b64url(signature),
          ...(userHandle ? { userHandle } : {}),
        },
        clientExtensionResults: {},
      };
    },
  };
}

export type SoftwareAuthenticator = ReturnType<typeof createSoftwareAuthenticator>;

/** A copy of `base64url` with one byte flipped at `index` (negative: from the end). */
export function flipByte(value: string, index: number): string {
  const bytes = Buffer.from(value, "base64url");
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = (bytes[at] ?? 0) ^ 0x01;
  return bytes.toString("base64url");
}
