/**
 * The physical limit of a guarded route: bare Fastify answering with exactly the headers Rampart's
 * guarded route sends (a fresh request id, the security headers, CORS for the allowed origin, the
 * rate-limit fields), set once per request from constants. No checks at all: what is left between this
 * and `rampart` is the cost of the protections themselves, not of their output.
 *
 *   node --import tsx bench/servers/bare-fastify-headers.ts [--cold N [--es256]] [--busy N]
 *
 * --cold N: the limit of a cold-token request. N distinct tokens shaped like Rampart's (RFC 9068 claims,
 * `alg`/`kid`/`typ` header) are signed at start-up, and each request's bearer token gets one signature
 * check with the fastest check this machine has (Ed25519: Rampart's, libsodium when installed; P-256:
 * node:crypto), 401 when it fails, and nothing else: no parsing, no claims, no cache. No server that
 * verifies a token per request can do less.
 *
 * --busy N: a calibration, not a peer. N steps of a plain JavaScript loop per request (no allocation, no
 * I/O; about 6.5 ns a step here), to see what a given amount of per-request JavaScript costs in CPU per
 * request and req/s once the kernel's share moves with it (`npx tsx bench/profile.ts
 * bare-fastify-headers --busy 2000`; BENCHMARKS.md, "Hot path II").
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign, verify } from "node:crypto";
import Fastify from "fastify";
import { ed25519Check } from "../../src/core/tokens/ed25519.ts";
import { announce, coldTokenCount, exitWith, HOST, ITEMS_PATH, listItems, ORIGIN, writeTokensFile } from "./common.ts";

const RAMPART_HEADERS = {
  "content-security-policy": "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
  "cross-origin-resource-policy": "same-origin",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  vary: "Origin",
  "access-control-allow-origin": ORIGIN,
  "access-control-expose-headers": "x-request-id, ratelimit, ratelimit-policy, retry-after, www-authenticate",
  "ratelimit-policy": '"ip";q=1000000;w=1, "ip-2";q=100000000;w=3600, "user";q=1000000;w=1, "user-2";q=100000000;w=3600',
  ratelimit: '"ip";r=999999;t=1',
};

const cold = coldTokenCount();
const es256 = process.argv.includes("--es256");
const busyAt = process.argv.indexOf("--busy");
const busySteps = busyAt === -1 ? 0 : Number(process.argv[busyAt + 1]);
const busyTable = Array.from({ length: 4096 }, (_, i) => `k${i}`);
let busySink = 0;

/** The --busy loop: reads that the optimiser cannot drop (the sum is printed at exit if it ever went negative). */
function busyWork(steps: number): void {
  for (let i = 0; i < steps; i++) busySink += (busyTable[(i * 7919) % 4096] as string).length;
}

/** Signs Rampart-shaped access tokens and checks their signatures; only for --cold. */
function signatureOnlyVerifier() {
  const alg = es256 ? "ES256" : "EdDSA";
  const { publicKey, privateKey } = es256 ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519");
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = b64({ alg, kid: randomUUID(), typ: "at+jwt" });
  const now = Math.floor(Date.now() / 1000);
  const issue = (i: number) => {
    const claims = { iss: "http://127.0.0.1", aud: "http://127.0.0.1", sub: randomUUID(), iat: now, nbf: now, exp: now + 10_800, jti: randomBytes(16).toString("base64url"), client_id: "rampart", roles: ["user"], sid: `s${i}` };
    const input = `${header}.${b64(claims)}`;
    const signature = es256 ? sign("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }) : sign(null, Buffer.from(input), privateKey);
    return `${input}.${signature.toString("base64url")}`;
  };
  const check = es256
    ? (input: Buffer, signature: Buffer) => verify("sha256", input, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature)
    : ed25519Check(Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url"));
  const holds = (authorization: string | undefined) => {
    if (authorization === undefined || !authorization.startsWith("Bearer ")) return false;
    const dot = authorization.lastIndexOf(".");
    return check(Buffer.from(authorization.slice(7, dot)), Buffer.from(authorization.slice(dot + 1), "base64url"));
  };
  return { issue, holds, alg };
}

const verifier = cold > 0 ? signatureOnlyVerifier() : undefined;

const app = Fastify({ logger: false });
app.get(ITEMS_PATH, async (request, reply) => {
  if (busySteps > 0) busyWork(busySteps);
  reply.header("x-request-id", randomUUID());
  reply.headers(RAMPART_HEADERS);
  if (verifier && !verifier.holds(request.headers.authorization)) return reply.code(401).send({ error: "bad signature" });
  const limit = Number((request.query as { limit?: string }).limit ?? 10);
  return listItems(Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : 10);
});

await app.listen({ port: 0, host: HOST });
const address = app.server.address();
announce({
  port: typeof address === "object" && address ? address.port : 0,
  ...(verifier
    ? { tokensFile: writeTokensFile(Array.from({ length: cold }, (_, i) => verifier.issue(i))), token: verifier.issue(-1), note: `signature check only, ${verifier.alg}` }
    : {}),
});
exitWith(() => {
  if (busySink < 0) console.error(busySink);
  return app.close();
});
