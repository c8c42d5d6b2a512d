/**
 * Passkeys in the browser: the server's WebAuthn JSON options turned into what
 * `navigator.credentials.create/get` take (base64url → ArrayBuffer), and the credential they give back
 * turned into the JSON the server's verify routes read (ArrayBuffer → base64url). Done by hand, not with
 * `PublicKeyCredential.parseCreationOptionsFromJSON`/`toJSON()`, which older browsers lack.
 */
import { ApiError } from "./api.ts";

/** Passkeys need the WebAuthn API, which browsers only expose to secure contexts (HTTPS or localhost). */
export function passkeysSupported(): boolean {
  return typeof window.PublicKeyCredential === "function";
}

function fromBase64url(text: string): ArrayBuffer {
  // atob accepts unpadded base64, so only the alphabet needs changing.
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

function toBase64url(buffer: ArrayBuffer): string {
  let binary = "";
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function descriptors(list: readonly PublicKeyCredentialDescriptorJSON[] | undefined): PublicKeyCredentialDescriptor[] | undefined {
  return list?.map((d) => ({ ...d, type: "public-key", id: fromBase64url(d.id), transports: d.transports as AuthenticatorTransport[] | undefined }));
}

/** What both ceremonies answer besides their own response fields. */
function common(credential: PublicKeyCredential) {
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: "public-key",
    clientExtensionResults: credential.getClientExtensionResults(),
    ...(credential.authenticatorAttachment ? { authenticatorAttachment: credential.authenticatorAttachment } : {}),
  };
}

/**
 * Runs the browser's ceremony; undefined when the user cancelled it or let it time out (NotAllowedError:
 * browsers do not tell the two apart). Any other refusal becomes an ApiError (status 0) that says why.
 */
async function ceremony(run: () => Promise<Credential | null>): Promise<PublicKeyCredential | undefined> {
  try {
    const credential = await run();
    if (credential instanceof PublicKeyCredential) return credential;
  } catch (error) {
    const name = error instanceof DOMException ? error.name : "";
    if (name === "NotAllowedError" || name === "AbortError") return undefined;
    if (name === "InvalidStateError") throw new ApiError(0, "This authenticator already holds a passkey for your account.");
    if (name === "SecurityError") throw new ApiError(0, "The server's passkey settings do not match this page's address; ask an administrator.");
    throw new ApiError(0, "The browser could not use a passkey here.");
  }
  throw new ApiError(0, "The browser gave no passkey.");
}

/** Creates a passkey from `POST /auth/webauthn/register/options`; the answer is the body of `/register/verify`. */
export async function createPasskey(options: PublicKeyCredentialCreationOptionsJSON): Promise<Record<string, unknown> | undefined> {
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user.id) },
    excludeCredentials: descriptors(options.excludeCredentials),
  } as PublicKeyCredentialCreationOptions;
  const credential = await ceremony(() => navigator.credentials.create({ publicKey }));
  if (!credential) return undefined;
  const response = credential.response as AuthenticatorAttestationResponse;
  const transports = typeof response.getTransports === "function" ? response.getTransports() : [];
  return {
    ...common(credential),
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      attestationObject: toBase64url(response.attestationObject),
      ...(transports.length ? { transports } : {}),
    },
  };
}

/** Signs in with a passkey from `POST /auth/webauthn/login/options`; the answer is the body of `/login/verify`. */
export async function getPasskey(options: PublicKeyCredentialRequestOptionsJSON): Promise<Record<string, unknown> | undefined> {
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    allowCredentials: descriptors(options.allowCredentials),
  } as PublicKeyCredentialRequestOptions;
  const credential = await ceremony(() => navigator.credentials.get({ publicKey }));
  if (!credential) return undefined;
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    ...common(credential),
    response: {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      ...(response.userHandle ? { userHandle: toBase64url(response.userHandle) } : {}),
    },
  };
}
