export { isCommonPassword, preloadCommonPasswords } from "./common-passwords.ts";
export type { PasswordHasher, PasswordHasherOptions } from "./hasher.ts";
export { createPasswordHasher, OWASP_ARGON2ID } from "./hasher.ts";
export { codePointLength, normalisePassword } from "./normalise.ts";
export type { PasswordPolicyOptions } from "./policy.ts";
export { checkPassword } from "./policy.ts";
