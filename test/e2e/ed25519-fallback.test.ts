/**
 * A native binding that accepted every signature would be a silent authentication bypass. With
 * `require("sodium-native")` answered by such a binding (test/support/broken-sodium.cjs), the real server
 * must say so at start-up, fall back to node:crypto, and still refuse forged tokens; without it, it must
 * use libsodium and say nothing.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type ServerProcess, startListening, startServer } from "../support/server-process.ts";

const PASSWORD = "correct horse battery staple, ed25519";

function serve(preload: string[]): Promise<ServerProcess> {
  return startListening(process.execPath, [...preload, "--import", "tsx", "src/cli/entry.ts", "serve"], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", NODE_ENV: "test", RAMPART_DATA_DIR: mkdtempSync(join(tmpdir(), "rampart-ed25519-")) },
  });
}

async function accessToken(url: string, email: string): Promise<string> {
  const body = JSON.stringify({ email, password: PASSWORD });
  const headers = { "content-type": "application/json" };
  assert.equal((await fetch(`${url}/auth/register`, { method: "POST", headers, body })).status, 201);
  const login = await fetch(`${url}/auth/login`, { method: "POST", headers, body });
  assert.equal(login.status, 200);
  return ((await login.json()) as { access_token: string }).access_token;
}

const me = (url: string, token: string) => fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });

/** The server's own header and claims, signed by a key the attacker made. */
function forged(token: string): string {
  const [header, payload] = token.split(".") as [string, string];
  const attacker = generateKeyPairSync("ed25519");
  return `${header}.${payload}.${sign(null, Buffer.from(`${header}.${payload}`), attacker.privateKey).toString("base64url")}`;
}

describe("Ed25519 verification in the real server", () => {
  const servers: ServerProcess[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it("a binding that accepts every signature is refused at start-up, said in the log, and forged tokens stay refused", async () => {
    const server = await serve(["--require", "./test/support/broken-sodium.cjs"]);
    servers.push(server);
    assert.match(server.output(), /RAMPART_WARN_ED25519_NODE_CRYPTO/);
    assert.match(server.output(), /failed its self-test/);
    const token = await accessToken(server.url, "broken-binding@example.com");
    assert.equal((await me(server.url, token)).status, 200);
    const attack = await me(server.url, forged(token));
    assert.equal(attack.status, 401);
    assert.match(attack.headers.get("www-authenticate") ?? "", /invalid_token/);
    const flipped = `${token.slice(0, -6)}${token.at(-6) === "A" ? "B" : "A"}${token.slice(-5)}`;
    assert.equal((await me(server.url, flipped)).status, 401);
  });

  it("with sodium-native installed and sound, no warning, and a forged token is refused", async () => {
    const server = await startServer({ RAMPART_DATA_DIR: mkdtempSync(join(tmpdir(), "rampart-ed25519-")) });
    servers.push(server);
    assert.doesNotMatch(server.output(), /RAMPART_WARN_ED25519/);
    const token = await accessToken(server.url, "sound-binding@example.com");
    assert.equal((await me(server.url, token)).status, 200);
    assert.equal((await me(server.url, forged(token))).status, 401);
  });
});
