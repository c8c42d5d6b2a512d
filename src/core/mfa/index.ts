export {
  base32Decode,
  base32Encode,
  generateTotpSecret,
  hotp,
  otpauthUri,
  TOTP_DIGITS,
  TOTP_DRIFT_STEPS,
  TOTP_PERIOD_SECONDS,
  TOTP_SECRET_BYTES,
  totp,
  totpStep,
  verifyTotp,
} from "./totp.ts";
export { generateRecoveryCodes, hashRecoveryCode, normaliseRecoveryCode, RECOVERY_CODE_COUNT } from "./recovery-codes.ts";
export { createSecretBox, type SecretBox } from "./secret-box.ts";
