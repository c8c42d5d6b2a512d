import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { canonicalizeTarget, MAX_TARGET_LENGTH } from "../../src/gateway/path.ts";

// Each target is an attempt to make the gateway's rule see one path and the upstream's router another.
const ATTACKS: readonly (readonly [target: string, why: string])[] = [
  // Not origin-form: proxies' forms, or nothing at all.
  ["", "empty target"],
  ["*", "asterisk-form (OPTIONS * HTTP/1.1)"],
  ["http://evil/api/orders", "absolute-form: the Host would come from the target"],
  ["HTTP://evil/api/orders", "absolute-form, upper-case scheme"],
  ["evil.example:443", "authority-form (CONNECT)"],
  ["api/orders", "relative path"],
  ["?x=1", "query only"],
  ["//evil.example/api/orders", "network-path reference: resolves to another host"],
  // Fragments.
  ["/api/orders#frag", "fragment in the path"],
  ["/api/orders?a=1#frag", "fragment after the query"],
  ["/api/orders#/../admin", "fragment hiding a traversal"],
  // Dot segments, raw and encoded.
  ["/api/./orders", "raw . segment"],
  ["/api/orders/..", "raw .. at the end"],
  ["/api/orders/../admin", "raw .. traversal"],
  ["/api/orders/.", "raw . at the end"],
  ["/api/orders/./", "raw . before a trailing slash"],
  ["/..", "raw .. at the root"],
  ["/api/orders/%2e%2e/admin", "encoded .."],
  ["/api/orders/%2E%2e/admin", "encoded .., mixed case"],
  ["/api/orders/.%2e/admin", "half-encoded .."],
  ["/api/orders/%2e./admin", "half-encoded .., other half"],
  ["/api/%2e/orders", "encoded ."],
  ["/api/orders/.../admin", "... (Windows trims trailing dots)"],
  ["/api/orders/..%20/admin", ".. plus a space (trimmed by Windows)"],
  ["/api/orders/%20/admin", "a segment of one space"],
  // Encoded slash and backslash.
  ["/api/orders/..%2fadmin", "encoded slash after .."],
  ["/api/orders/..%2Fadmin", "encoded slash, upper case"],
  ["/api/orders/%2F", "encoded slash alone"],
  ["/api/orders%2f..%2fadmin", "encoded traversal inside one segment"],
  ["/api/orders/%5c", "encoded backslash"],
  ["/api/orders/..%5Cadmin", "encoded backslash traversal"],
  // Backslash.
  ["/api\\orders", "raw backslash"],
  ["/api/orders\\..\\admin", "raw backslash traversal"],
  // Empty segments.
  ["/api//orders", "empty segment"],
  ["/api/orders//", "trailing double slash"],
  ["//", "root double slash"],
  ["///api/orders", "triple leading slash"],
  // Path parameters.
  ["/api/orders;jsessionid=1", "; path parameter (Tomcat strips it)"],
  ["/api/orders/..;/admin", "..; traversal (Tomcat)"],
  ["/api/orders%3Bx", "encoded ;"],
  ["/api/orders%3bx", "encoded ;, lower case"],
  // NUL and control characters, raw and encoded.
  ["/api/%00", "encoded NUL"],
  ["/api/orders%00.json", "encoded NUL before an extension"],
  ["/api/\u0000", "raw NUL"],
  ["/api/orders\t", "raw tab"],
  ["/api/orders\r", "raw CR"],
  ["/api/orders\n", "raw LF"],
  ["/api/orders\r\nX-Injected: 1", "CRLF header injection"],
  ["/api/or ders", "raw space"],
  ["/api/orders\u007f", "raw DEL"],
  ["/api/%0d%0aX-Injected:%201", "encoded CRLF"],
  ["/api/%09orders", "encoded tab"],
  ["/api/%7F", "encoded DEL"],
  ["/api/%1f", "encoded unit separator"],
  // Non-ASCII raw.
  ["/api/café", "raw non-ASCII"],
  ["/api/\u00e9", "raw latin-1 byte as Node would show it"],
  ["/api/orders\u2028", "raw line separator"],
  // Invalid percent-encoding.
  ["/api/%zz", "non-hex escape"],
  ["/api/%2", "truncated escape"],
  ["/api/%", "bare %"],
  ["/api/%G1", "non-hex high nibble"],
  ["/api/%4", "one hex digit"],
  ["/api/%u002e%u002e/admin", "IIS %u encoding"],
  ["/api/orders%", "bare % at the end"],
  // Double encoding.
  ["/api/%252e%252e/admin", "double-encoded .. (a second decode makes it ..)"],
  ["/api/%252fadmin", "double-encoded slash"],
  ["/api/100%25", "encoded % (refused in paths)"],
  // Encoded delimiters.
  ["/api/orders%3F.json", "encoded ? (cuts the path for a re-parser)"],
  ["/api/orders%23x", "encoded #"],
  // Invalid and overlong UTF-8.
  ["/api/%c0%ae%c0%ae/admin", "overlong . (C0 AE)"],
  ["/api/%C0%AF", "overlong / (C0 AF)"],
  ["/api/%e0%80%ae", "3-byte overlong ."],
  ["/api/%f0%80%80%ae", "4-byte overlong ."],
  ["/api/%80", "lone continuation byte"],
  ["/api/%C3", "truncated sequence"],
  ["/api/%C3%28", "bad continuation"],
  ["/api/%ED%A0%80", "UTF-8-encoded surrogate"],
  ["/api/%F4%90%80%80", "above U+10FFFF"],
  ["/api/%FF", "0xFF byte"],
  // Invisible and Unicode-normalising tricks.
  ["/api/%EF%BB%BFadmin", "BOM (a default TextDecoder strips it)"],
  ["/api/ad%E2%80%8Bmin", "zero-width space"],
  ["/api/%E2%80%AEnimda", "right-to-left override"],
  ["/api/%C2%85", "C1 control (NEL)"],
  ["/api/%EF%BC%8Fadmin", "fullwidth solidus (NFKC /)"],
  ["/api/%EF%BC%BCadmin", "fullwidth reverse solidus (NFKC \\)"],
  ["/api/%E2%80%A5/admin", "two-dot leader (NFKC ..)"],
  ["/api/%EF%BC%8E%EF%BC%8E/admin", "fullwidth full stops (NFKC ..)"],
  ["/api/orders%EF%B9%94x", "small semicolon (NFKC ;)"],
  ["/api/%EF%BC%85%32%65", "fullwidth percent (NFKC %)"],
  // Query problems.
  ["/api/orders?a=1 2", "raw space in the query"],
  ["/api/orders?a=\u0000", "raw NUL in the query"],
  ["/api/orders?a=1\r\nX: y", "CRLF in the query"],
  ["/api/orders?a=%zz", "invalid escape in the query"],
  ["/api/orders?a=%", "bare % in the query"],
  ["/api/orders?a=caf\u00e9", "non-ASCII in the query"],
  // Length.
  [`/${"a".repeat(MAX_TARGET_LENGTH)}`, "longer than the limit"],
];

const ACCEPTED: readonly (readonly [target: string, path: string, query: string, forward: string])[] = [
  ["/", "/", "", "/"],
  ["/api/orders", "/api/orders", "", "/api/orders"],
  ["/api/orders/", "/api/orders/", "", "/api/orders/"],
  ["/API/Orders", "/API/Orders", "", "/API/Orders"],
  ["/api/%6frders", "/api/orders", "", "/api/orders"],
  ["/api/%6F%72ders", "/api/orders", "", "/api/orders"],
  ["/api/caf%C3%A9", "/api/café", "", "/api/caf%C3%A9"],
  ["/api/caf%c3%a9", "/api/café", "", "/api/caf%C3%A9"],
  ["/api/orders?page=2&sort=-date", "/api/orders", "page=2&sort=-date", "/api/orders?page=2&sort=-date"],
  ["/api/orders?q=%2e%2e%2F%00", "/api/orders", "q=%2e%2e%2F%00", "/api/orders?q=%2e%2e%2F%00"],
  ["/api/orders?a=b?c=/d\\e;f", "/api/orders", "a=b?c=/d\\e;f", "/api/orders?a=b?c=/d\\e;f"],
  ["/api/orders?", "/api/orders", "", "/api/orders"],
  ["/api/orders/?x", "/api/orders/", "x", "/api/orders/?x"],
  ["/a/b.json", "/a/b.json", "", "/a/b.json"],
  ["/a/.well-known/jwks.json", "/a/.well-known/jwks.json", "", "/a/.well-known/jwks.json"],
  ["/a/..b/c..", "/a/..b/c..", "", "/a/..b/c.."],
  ["/a/%2Ewell-known", "/a/.well-known", "", "/a/.well-known"],
  ["/a/~user/x_y-z", "/a/~user/x_y-z", "", "/a/~user/x_y-z"],
  ["/a/%7Euser", "/a/~user", "", "/a/~user"],
  ["/a/b:c@d!$&'()*+,=", "/a/b:c@d!$&'()*+,=", "", "/a/b:c@d!$&'()*+,="],
  ["/a/%3A%40%21%2B%3D", "/a/:@!+=", "", "/a/:@!+="],
  ["/files/my%20file.txt", "/files/my file.txt", "", "/files/my%20file.txt"],
  ["/a/x%7Cy", "/a/x|y", "", "/a/x%7Cy"],
  ["/a/x|y^[z]", "/a/x|y^[z]", "", "/a/x%7Cy%5E%5Bz%5D"],
  ["/a/%22%3C%3E%60%7B%7D", "/a/\"<>`{}", "", "/a/%22%3C%3E%60%7B%7D"],
  ["/a/%E6%97%A5%E6%9C%AC", "/a/日本", "", "/a/%E6%97%A5%E6%9C%AC"],
  ["/a/%F0%9F%94%92", "/a/🔒", "", "/a/%F0%9F%94%92"],
  ["/a/%C3%A9t%C3%A9/", "/a/été/", "", "/a/%C3%A9t%C3%A9/"],
  ["/api/orders/12345", "/api/orders/12345", "", "/api/orders/12345"],
  [`/${"a".repeat(MAX_TARGET_LENGTH - 1)}`, `/${"a".repeat(MAX_TARGET_LENGTH - 1)}`, "", `/${"a".repeat(MAX_TARGET_LENGTH - 1)}`],
];

describe("canonicalizeTarget: refusals", () => {
  it(`has a table of at least 60 attacks (${ATTACKS.length})`, () => assert.ok(ATTACKS.length >= 60));
  for (const [target, why] of ATTACKS) {
    it(`refuses ${JSON.stringify(target.slice(0, 60))}: ${why}`, () => {
      const result = canonicalizeTarget(target);
      assert.equal(result.ok, false, `accepted: ${JSON.stringify(result)}`);
      if (!result.ok) assert.ok(result.reason.length > 0);
    });
  }

  it("refuses a non-string without throwing", () => {
    assert.equal(canonicalizeTarget(undefined as unknown as string).ok, false);
    assert.equal(canonicalizeTarget(42 as unknown as string).ok, false);
  });
});

describe("canonicalizeTarget: accepted targets", () => {
  it(`has at least 20 accepted targets (${ACCEPTED.length})`, () => assert.ok(ACCEPTED.length >= 20));
  for (const [target, path, query, forward] of ACCEPTED) {
    it(`accepts ${JSON.stringify(target.slice(0, 60))}`, () => {
      assert.deepEqual(canonicalizeTarget(target), { ok: true, path, query, forward });
      // Forwarding is idempotent: the upstream would canonicalise it to the same thing.
      assert.deepEqual(canonicalizeTarget(forward), { ok: true, path, query, forward });
    });
  }

  it("accepts exactly MAX_TARGET_LENGTH characters and refuses one more", () => {
    const at = `/${"a".repeat(MAX_TARGET_LENGTH - 1)}`;
    assert.equal(at.length, MAX_TARGET_LENGTH);
    assert.equal(canonicalizeTarget(at).ok, true);
    assert.equal(canonicalizeTarget(`${at}a`).ok, false);
  });

  it("keeps a trailing slash and case significant", () => {
    const paths = ["/api/orders", "/api/orders/", "/API/orders"].map((t) => {
      const r = canonicalizeTarget(t);
      assert.ok(r.ok);
      return r.path;
    });
    assert.equal(new Set(paths).size, 3);
  });
});

// Alphabet chosen to hit every rule: delimiters, dots, escapes (hex digits), and a few non-ASCII.
const ALPHABET = ["/", ".", "%", ";", "\\", "?", "#", " ", "a", "b", "A", "~", "-", "_", ":", "|", "é", "0", "2", "3", "5", "9", "c", "C", "e", "E", "f", "F"];
// Whole escapes too, or valid ones would be rare: unreserved, reserved, delimiters, UTF-8, overlong.
const ESCAPES = ["%2e", "%2E", "%2f", "%5C", "%25", "%6f", "%41", "%3B", "%3F", "%20", "%7C", "%3A", "%C3%A9", "%c3", "%A9", "%C0%AE", "%E2%80%A5"];
const target = fc
  .array(fc.oneof(fc.constantFrom(...ALPHABET), fc.constantFrom(...ESCAPES)), { maxLength: 40 })
  .map((chars) => `/${chars.join("")}`);

describe("canonicalizeTarget: properties", () => {
  it("an accepted target forwards a path that decodes to `path` and re-canonicalises to itself", () => {
    fc.assert(
      fc.property(target, (t) => {
        const r = canonicalizeTarget(t);
        if (!r.ok) return;
        const again = canonicalizeTarget(r.forward);
        assert.deepEqual(again, r, `not idempotent for ${JSON.stringify(t)}`);
        const forwardPath = r.forward.split("?")[0] as string;
        assert.deepEqual(forwardPath.split("/").map(decodeURIComponent), r.path.split("/"));
        // Nothing ambiguous survives in the decoded path.
        const segments = r.path.split("/").slice(1);
        segments.forEach((segment, i) => {
          if (i < segments.length - 1) assert.notEqual(segment, "");
          assert.notEqual(segment, ".");
          assert.notEqual(segment, "..");
          assert.ok(!/[\\;%?#]/.test(segment));
        });
        assert.ok(!/[\s;\\#]/.test(forwardPath));
      }),
      { numRuns: 5000 },
    );
  });

  it("any unambiguous decoded path round-trips through encodeURIComponent", () => {
    const segment = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => !/^[. ]*$/.test(s));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (segments) => {
        const path = `/${segments.join("/")}`;
        const r = canonicalizeTarget(`/${segments.map(encodeURIComponent).join("/")}`);
        // The oracle: refused exactly when a segment holds, or NFKC-normalises to, something ambiguous.
        const ambiguous = segments.some((s) => {
          const folded = s.normalize("NFKC");
          return /[\p{Cc}\p{Cf}/\\;%?#]/u.test(s) || /[\p{Cc}\p{Cf}/\\;%?#]/u.test(folded) || /^[. ]*$/.test(folded);
        });
        assert.equal(r.ok, !ambiguous, `${JSON.stringify(path)}: ${JSON.stringify(r)}`);
        if (!r.ok) return;
        assert.equal(r.path, path);
        assert.deepEqual(canonicalizeTarget(r.forward), r);
      }),
      { numRuns: 2000 },
    );
  });
});
