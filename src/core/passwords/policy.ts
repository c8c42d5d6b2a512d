/**
 * The password policy of NIST SP 800-63B-4 §3.1.1.2: a length floor and ceiling counted in code points
 * after normalisation, a blocklist of common and breached passwords and of context-specific words (the
 * email), and no composition rules. Failures are RAMPART_ERR_WEAK_PASSWORD with a client-safe detail.
 */
import { RampartError } from "../errors.ts";
import { isCommonPassword } from "./common-passwords.ts";
import { codePointLength, normalisePassword } from "./normalise.ts";

export interface PasswordPolicyOptions {
  /** Code points after NFKC. Default 15 (NIST's floor for single-factor passwords). */
  minLength?: number;
  /** Code points after NFKC. Default 256. */
  maxLength?: number;
  /** The account's email: the password may not be it, or contain its local part. */
  email?: string;
}

// A local part this short (`al@…`) would refuse too many good passwords by containment; equality still counts.
const MIN_LOCAL_PART_FOR_CONTAINMENT = 4;
// Units this short, repeated (`aaaa…`, `abab…`, `12341234…`), are as guessable as a listed password.
const MAX_TRIVIAL_UNIT = 4;

function weak(detail: string, reason: string): RampartError {
  return new RampartError("RAMPART_ERR_WEAK_PASSWORD", { detail, reason });
}

/** The shortest unit the string repeats (`abcabc` → `abc`), or the string itself. */
function repeatedUnit(value: string): string {
  const period = (value + value).indexOf(value, 1);
  return period < value.length ? value.slice(0, period) : value;
}

function checkEmail(candidate: string, email: string): void {
  const address = normalisePassword(email.trim()).toLowerCase();
  const at = address.lastIndexOf("@");
  const local = at > 0 ? address.slice(0, at) : address;
  const contains = codePointLength(local) >= MIN_LOCAL_PART_FOR_CONTAINMENT && candidate.includes(local);
  if (candidate === address || candidate === local || contains) {
    throw weak("The password must not contain your email address.", "contains email");
  }
}

/** Throws RAMPART_ERR_WEAK_PASSWORD when `password` breaks the policy. */
export function checkPassword(password: string, options: PasswordPolicyOptions = {}): void {
  const minLength = options.minLength ?? 15;
  const maxLength = options.maxLength ?? 256;
  if (!Number.isSafeInteger(minLength) || minLength < 1) throw new TypeError(`"minLength" must be a positive integer`);
  if (!Number.isSafeInteger(maxLength) || maxLength < minLength) throw new TypeError(`"maxLength" must be an integer >= "minLength"`);
  if (typeof password !== "string") throw new TypeError(`"password" must be a string`);
  const tooLong = weak(`The password must be at most ${maxLength} characters long.`, "too long");
  // Bound the normalisation work first: composition merges at most a few code points into one, so a
  // string this long in UTF-16 units cannot fit after NFKC.
  if (password.length > maxLength * 4) throw tooLong;
  const normalised = normalisePassword(password);
  const length = codePointLength(normalised);
  if (length < minLength) throw weak(`The password must be at least ${minLength} characters long.`, "too short");
  if (length > maxLength) throw tooLong;
  const candidate = normalised.toLowerCase();
  const unit = repeatedUnit(candidate);
  if (isCommonPassword(candidate) || (unit !== candidate && (isCommonPassword(unit) || codePointLength(unit) <= MAX_TRIVIAL_UNIT))) {
    throw weak("This password is too common: it appears in lists of breached or frequently used passwords.", "common password");
  }
  if (options.email !== undefined) checkEmail(candidate, options.email);
}
