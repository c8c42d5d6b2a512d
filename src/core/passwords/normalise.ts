/**
 * NIST SP 800-63B-4 §3.1.1.2: passwords are Unicode-normalised (NFKC here) before they are counted or
 * hashed, so the same password typed on two keyboards (composed or decomposed accents, full-width
 * forms) is the same password. Every path (policy, hash, verify) goes through this one function.
 */
export function normalisePassword(password: string): string {
  return password.normalize("NFKC");
}

/** Length in Unicode code points, as NIST counts characters (an emoji is one, not two UTF-16 units). */
export function codePointLength(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}
