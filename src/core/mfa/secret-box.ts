/**
 * Authenticated encryption of small secrets at rest (TOTP seeds): AES-256-GCM, a fresh 96-bit IV per
 * seal, and associated data that binds each ciphertext to its row (a seed copied to another user's row
 * does not open). The key is derived with HKDF-SHA-256 from an installation secret for one purpose, so
 * the same secret can serve other purposes later without key reuse. Format: `v1.<base64url iv|tag|ct>`.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

export interface SecretBox {
  seal(plaintext: Uint8Array, associatedData: string): string;
  /** @throws Error when the ciphertext was altered, belongs to other associated data, or another key. */
  open(sealed: string, associatedData: string): Buffer;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function createSecretBox(installationSecret: Uint8Array, purpose: string): SecretBox {
  if (installationSecret.length < 32) throw new TypeError("the installation secret must be at least 32 bytes");
  const key = Buffer.from(hkdfSync("sha256", installationSecret, Buffer.alloc(0), `rampart/${purpose}/v1`, 32));
  return {
    seal(plaintext, associatedData) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(associatedData));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return `v1.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
    },
    open(sealed, associatedData) {
      if (!sealed.startsWith("v1.")) throw new Error("unknown sealed-secret format");
      const raw = Buffer.from(sealed.slice(3), "base64url");
      if (raw.length < IV_BYTES + TAG_BYTES) throw new Error("sealed secret too short");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    },
  };
}
