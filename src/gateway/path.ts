/**
 * Request-target canonicalisation for the gateway: the one place where a request's path is decided.
 *
 * The gateway admits a request by matching a policy rule against a path, then forwards it to an
 * upstream (Django, Flask/Werkzeug behind gunicorn, Rails…) that routes on its own reading of the same
 * target. Every classic gateway bypass lives in the gap between those two readings: `..%2f` that the
 * gateway keeps as one segment and the upstream decodes into a slash, `%2e%2e` that one side normalises
 * and the other does not, `;jsessionid` that Tomcat strips, `\` that some servers treat as `/`, `//`
 * that collapses, `%252e` that a second decode turns into `.`, an overlong UTF-8 `%C0%AE` that a lax
 * decoder reads as `.`. So a target is accepted only when every reasonable reader agrees on its path;
 * anything else is refused (CONTRACT.md "Gateway mode": `400`, never forwarded), never repaired.
 *
 * For an accepted target:
 * - `path` is the decoded path the policy rules match (case and a trailing slash are significant);
 * - `forward` is the canonical re-encoding sent upstream: per segment, every character outside the
 *   RFC 3986 `pchar` set (minus `;`) is percent-encoded as UTF-8 with uppercase hex, everything else is
 *   sent literally, plus `?` and the query exactly as received. Decoding `forward`'s path segment by
 *   segment gives `path` back, and canonicalising `forward` again returns `forward` (idempotent).
 *
 * Decisions beyond the contract's list, each because some upstream reads the target differently:
 * - `%25` (an encoded `%`) is refused in the path: `%252e%252e` is `%2e%2e` after our decode and `..`
 *   after a second one (WSGI middleware, some frameworks' `unquote` of PATH_INFO).
 * - `%3F` and `%23` (encoded `?`, `#`) are refused in the path: a component that re-parses the decoded
 *   path as a URL would cut it there.
 * - A segment that is empty after removing trailing dots and spaces (`.`, `..`, `...`, `.. `, ` `) is a
 *   dot segment: Windows and some file servers trim trailing dots and spaces. `.well-known`, `b.json`,
 *   `..b` are ordinary names.
 * - Decoded control (Cc, including C1) and format (Cf: BOM, zero-width, bidi) characters are refused:
 *   invisible differences between two paths, and a BOM is what a default `TextDecoder` silently drops.
 * - A decoded segment whose NFKC form contains `/ \ ; % ? #` or is a dot segment (fullwidth solidus
 *   U+FF0F, two-dot leader U+2025…) is refused: Unicode-normalising upstreams would route it elsewhere.
 * - Printable ASCII outside `pchar` (`| ^ [ ] { } " < > \``) is accepted raw and sent encoded (browsers
 *   send some of them raw); `\` never is (see above).
 * - An empty query (`/a?`) is dropped: `forward` is `/a`.
 */

export type CanonicalTarget = { ok: true; path: string; query: string; forward: string } | { ok: false; reason: string };

/** Longest request-target accepted, in characters. */
export const MAX_TARGET_LENGTH = 8192;

// RFC 3986 §3.3: pchar = unreserved / pct-encoded / sub-delims / ":" / "@", here without ";" (path parameters).
const PCHAR_LITERAL = /^[A-Za-z0-9\-._~!$&'()*+,=:@]$/;
// Characters of the decoded path that are never accepted, raw or encoded (see the module comment).
const NEVER_DECODED = new Set(["/", "\\", ";", "%", "?", "#"]);
const INVISIBLE = /[\p{Cc}\p{Cf}]/u;
// A segment that is empty once trailing dots and spaces are gone is a dot segment to someone.
const DOT_SEGMENT = /^[. ]*$/;
const HEX = "0123456789ABCDEF";

// Strict: an invalid or overlong sequence throws instead of becoming U+FFFD; ignoreBOM keeps a leading
// U+FEFF in the text (the default strips it, so `%EF%BB%BFadmin` would read as `admin` here only).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

const refuse = (reason: string): CanonicalTarget => ({ ok: false, reason });

/**
 * Canonicalises a request-target as it arrived on the request line (Node's `req.url`).
 * Never throws; a refusal carries a short `reason` for the log (not for the client).
 * @example canonicalizeTarget("/api/%6frders?page=2") // { ok: true, path: "/api/orders", query: "page=2", forward: "/api/orders?page=2" }
 * @example canonicalizeTarget("/api/orders/..%2fadmin") // { ok: false, reason: "encoded \"/\" in the path" }
 */
export function canonicalizeTarget(rawTarget: string): CanonicalTarget {
  if (typeof rawTarget !== "string" || rawTarget.length === 0) return refuse("empty request-target");
  if (rawTarget.length > MAX_TARGET_LENGTH) return refuse(`request-target longer than ${MAX_TARGET_LENGTH} characters`);
  // Origin-form only (RFC 9112 §3.2.1): absolute-form `http://host/x`, authority-form and `*` are for proxies.
  if (rawTarget.charCodeAt(0) !== 0x2f) return refuse("request-target is not in origin-form (must start with \"/\")");
  // A fragment is never sent by a conforming client; one that sends it is probing a parser difference.
  if (rawTarget.includes("#")) return refuse("\"#\" in the request-target");

  const q = rawTarget.indexOf("?");
  const rawPath = q === -1 ? rawTarget : rawTarget.slice(0, q);
  const query = q === -1 ? "" : rawTarget.slice(q + 1);

  const queryProblem = checkQuery(query);
  if (queryProblem) return refuse(queryProblem);

  // Split on raw "/" only: an encoded slash is refused below, so the split is the same before and after decoding.
  const rawSegments = rawPath.split("/");
  const decoded: string[] = [""];
  for (let i = 1; i < rawSegments.length; i++) {
    const raw = rawSegments[i] as string;
    const last = i === rawSegments.length - 1;
    // "//" would collapse in many routers, and a leading "//" makes the path a network-path reference
    // (`//evil.example/x`) for anything that resolves it as a URL. Only the final segment may be empty
    // (a trailing slash, significant).
    if (raw === "" && !last) return refuse("empty path segment (\"//\")");
    const segment = decodeSegment(raw);
    if (typeof segment !== "string") return refuse(segment.reason);
    if (raw !== "" && DOT_SEGMENT.test(segment)) return refuse("dot segment in the path");
    decoded.push(segment);
  }

  const path = decoded.join("/");
  const forwardPath = decoded.map(encodeSegment).join("/");
  return { ok: true, path, query, forward: query === "" ? forwardPath : `${forwardPath}?${query}` };
}

/** Decodes one raw path segment, or says why it is ambiguous. */
function decodeSegment(raw: string): string | { reason: string } {
  let ascii = true;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(raw.charCodeAt(i + 1));
      const lo = hexValue(raw.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return { reason: "invalid percent-encoding in the path" };
      const byte = hi * 16 + lo;
      i += 2;
      if (byte < 0x20 || byte === 0x7f) return { reason: "encoded control character in the path" };
      if (byte === 0x2f) return { reason: "encoded \"/\" in the path" };
      if (byte === 0x5c) return { reason: "encoded \"\\\" in the path" };
      if (byte === 0x25) return { reason: "encoded \"%\" in the path (double encoding)" };
      if (byte === 0x3b) return { reason: "encoded \";\" in the path" };
      if (byte === 0x3f || byte === 0x23) return { reason: "encoded \"?\" or \"#\" in the path" };
      if (byte >= 0x80) ascii = false;
      bytes.push(byte);
      continue;
    }
    if (c <= 0x20 || c >= 0x7f) return { reason: "control character, space or non-ASCII character in the path" };
    if (c === 0x5c) return { reason: "\"\\\" in the path" };
    if (c === 0x3b) return { reason: "\";\" (path parameter) in the path" };
    bytes.push(c);
  }
  if (ascii) return String.fromCharCode(...bytes);
  let text: string;
  try {
    text = utf8.decode(Uint8Array.from(bytes));
  } catch {
    return { reason: "invalid UTF-8 in the path" };
  }
  if (INVISIBLE.test(text)) return { reason: "invisible or control character in the path" };
  const folded = text.normalize("NFKC");
  if (folded !== text) {
    for (const ch of folded) if (NEVER_DECODED.has(ch)) return { reason: "character that normalises to a delimiter in the path" };
    if (DOT_SEGMENT.test(folded) || INVISIBLE.test(folded)) return { reason: "character that normalises to a dot segment in the path" };
  }
  return text;
}

/** Percent-encodes (UTF-8, uppercase hex) every character outside `pchar` minus `;`. */
function encodeSegment(segment: string): string {
  let out = "";
  for (const ch of segment) {
    if (PCHAR_LITERAL.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of utf8Encoder.encode(ch)) out += `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

/** The query is forwarded untouched, so it only has to be well-formed: visible ASCII and valid escapes. */
function checkQuery(query: string): string | undefined {
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return "control character, space or non-ASCII character in the query";
    if (c === 0x25) {
      if (hexValue(query.charCodeAt(i + 1)) < 0 || hexValue(query.charCodeAt(i + 2)) < 0) return "invalid percent-encoding in the query";
      i += 2;
    }
  }
  return undefined;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
