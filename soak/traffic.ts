/**
 * The soak traffic: virtual users looping through the whole identity + notes life cycle, and one
 * attacker at a bounded rate. Every request is recorded (kind, status, latency, expected or not), and a
 * ledger keeps what the servers must have stored: live and deleted notes, and how many security events
 * (logins, failures, throttles, logouts, registrations, token changes) the driver caused.
 *
 * Everything is bounded: each loop checks the deadline and a loop-count cap before starting, each
 * request has a timeout, the attacker sleeps between requests. Only the given (loopback) URLs are used.
 */
import { randomUUID } from "node:crypto";

export interface TrafficOptions {
  /** Base URLs of the servers; requests are spread over them round-robin. */
  urls: string[];
  users: number;
  durationMs: number;
  /** Attacker requests per second (upper bound). */
  attackRate: number;
  /** Random pause of 0..thinkMs between a user's requests. */
  thinkMs: number;
  /** Cap on loops per user, whatever the duration. */
  maxLoops: number;
  requestTimeoutMs: number;
}

export interface KindStats {
  count: number;
  statuses: Record<string, number>;
  expected: number;
  unexpected: number;
  latenciesMs: number[];
  /** 4xx answers that were not application/problem+json (the README promises it for every error). */
  nonProblem: number;
}

export interface UnexpectedSample {
  kind: string;
  status: number | "error";
  method: string;
  path: string;
  detail: string;
}

/** What the driver saw that the servers must have recorded. */
export interface Ledger {
  /** Note id → owner id, for every 201 on POST /api/notes. */
  created: Map<string, string>;
  /** Notes answered 204 on DELETE by their owner. */
  deleted: Set<string>;
  /** Notes whose fate is unknown (the delete had no answer): excluded from the checks. */
  uncertain: Set<string>;
  /** Audit event type → how many the driver caused (by the status it saw). */
  events: Record<string, number>;
  /** Requests whose audit effect is unknown (connection error on an audited route). */
  ambiguousAudited: number;
}

export interface TrafficResult {
  startedAt: string;
  durationS: number;
  loops: number;
  kinds: Record<string, KindStats>;
  unexpectedSamples: UnexpectedSample[];
  nonProblemSamples: UnexpectedSample[];
  ledger: Ledger;
}

const PASSWORD_SUFFIX = "soak test passphrase, quite long";
const json = { "content-type": "application/json" };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export async function runTraffic(options: TrafficOptions): Promise<TrafficResult> {
  const runId = randomUUID().slice(0, 8);
  const kinds: Record<string, KindStats> = {};
  const unexpectedSamples: UnexpectedSample[] = [];
  const nonProblemSamples: UnexpectedSample[] = [];
  const ledger: Ledger = { created: new Map(), deleted: new Set(), uncertain: new Set(), events: {}, ambiguousAudited: 0 };
  const start = Date.now();
  const deadline = start + options.durationMs;
  let next = 0;
  let loops = 0;
  const pick = () => options.urls[next++ % options.urls.length] as string;
  const count = (event: string) => {
    ledger.events[event] = (ledger.events[event] ?? 0) + 1;
  };

  function record(kind: string, status: number | "error", ms: number, ok: boolean, method: string, path: string, detail: string) {
    let stats = kinds[kind];
    if (!stats) {
      stats = { count: 0, statuses: {}, expected: 0, unexpected: 0, latenciesMs: [], nonProblem: 0 };
      kinds[kind] = stats;
    }
    stats.count++;
    stats.statuses[String(status)] = (stats.statuses[String(status)] ?? 0) + 1;
    // A 5xx or a connection error is never expected, whatever the caller listed.
    const expected = ok && status !== "error" && status < 500;
    if (expected) stats.expected++;
    else {
      stats.unexpected++;
      if (unexpectedSamples.length < 30) unexpectedSamples.push({ kind, status, method, path, detail: detail.slice(0, 300) });
    }
    if (status !== "error") stats.latenciesMs.push(ms);
  }

  /** One request; `expect` lists the statuses this kind may answer. */
  async function call(kind: string, expect: number[], base: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
    const started = performance.now();
    try {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: init.headers ?? {},
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
      const text = await response.text();
      const ms = performance.now() - started;
      let body: Record<string, unknown> = {};
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        body = {};
      }
      record(kind, response.status, ms, expect.includes(response.status), method, path, text);
      if (response.status >= 400 && !response.headers.get("content-type")?.startsWith("application/problem+json")) {
        const stats = kinds[kind] as KindStats;
        stats.nonProblem++;
        if (nonProblemSamples.length < 10) nonProblemSamples.push({ kind, status: response.status, method, path, detail: text.slice(0, 300) });
      }
      return { status: response.status, body };
    } catch (error) {
      record(kind, "error", performance.now() - started, false, method, path, String((error as Error).cause ?? error));
      return { status: 0, body: {} };
    }
  }

  const think = () => sleep(Math.random() * options.thinkMs);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  async function register(kind: string, email: string, password: string): Promise<boolean> {
    const answer = await call(kind, [201], pick(), "POST", "/auth/register", { headers: json, body: JSON.stringify({ email, password }) });
    if (answer.status === 201) count("user.registered");
    else if (answer.status === 0) ledger.ambiguousAudited++;
    return answer.status === 201;
  }

  async function login(email: string, password: string): Promise<{ access: string; refresh: string } | undefined> {
    const answer = await call("login", [200], pick(), "POST", "/auth/login", { headers: json, body: JSON.stringify({ email, password }) });
    if (answer.status === 200) count("login.success");
    else if (answer.status === 0) ledger.ambiguousAudited++;
    const { access_token, refresh_token } = answer.body as { access_token?: string; refresh_token?: string };
    return access_token && refresh_token ? { access: access_token, refresh: refresh_token } : undefined;
  }

  async function logout(access: string): Promise<void> {
    const answer = await call("logout", [204], pick(), "POST", "/auth/logout", { headers: bearer(access) });
    if (answer.status === 204) count("logout");
    else if (answer.status === 0) ledger.ambiguousAudited++;
  }

  async function user(index: number): Promise<void> {
    // Spread the registrations (argon2) over the first seconds instead of one burst.
    await sleep((index * 40) % 2000);
    const email = `soak-${runId}-u${index}@example.com`;
    const password = `${PASSWORD_SUFFIX} ${index}`;
    if (!(await register("register", email, password))) return;
    for (let loop = 0; loop < options.maxLoops && Date.now() < deadline; loop++) {
      loops++;
      const session = await login(email, password);
      if (!session) {
        await sleep(500);
        continue;
      }
      await think();
      const refreshed = await call("refresh", [200], pick(), "POST", "/auth/refresh", { headers: json, body: JSON.stringify({ refresh_token: session.refresh }) });
      const access = (refreshed.body as { access_token?: string }).access_token ?? session.access;
      const auth = { ...json, ...bearer(access) };
      await think();
      const ids: string[] = [];
      for (let n = 0; n < 2; n++) {
        const title = `note ${loop}.${n} of u${index}`;
        const created = await call("note.create", [201], pick(), "POST", "/api/notes", { headers: auth, body: JSON.stringify({ title, body: "x".repeat(200) }) });
        const id = (created.body as { id?: string }).id;
        if (created.status === 201 && id) {
          ledger.created.set(id, String((created.body as { owner_id?: string }).owner_id));
          ids.push(id);
        }
        await think();
      }
      const [keep, drop] = ids;
      if (keep) {
        const read = await call("note.read", [200], pick(), "GET", `/api/notes/${keep}`, { headers: bearer(access) });
        if (read.status === 200 && (read.body as { id?: string }).id !== keep) record("note.read-mismatch", 200, 0, false, "GET", `/api/notes/${keep}`, "another note came back");
        await think();
        await call("note.update", [200], pick(), "PATCH", `/api/notes/${keep}`, { headers: auth, body: JSON.stringify({ title: `updated ${loop}` }) });
        await think();
      }
      await call("note.list", [200], pick(), "GET", "/api/notes?limit=20", { headers: bearer(access) });
      await think();
      if (drop) {
        const removed = await call("note.delete", [204], pick(), "DELETE", `/api/notes/${drop}`, { headers: bearer(access) });
        if (removed.status === 204) ledger.deleted.add(drop);
        else if (removed.status === 0) ledger.uncertain.add(drop);
        await think();
      }
      const token = await call("token.create", [201], pick(), "POST", "/auth/tokens", { headers: auth, body: JSON.stringify({ name: `soak ${loop}`, scopes: ["notes:read"], expires_in_days: 1 }) });
      const { token: secret, id: tokenId } = token.body as { token?: string; id?: string };
      if (token.status === 201) count("token.created");
      else if (token.status === 0) ledger.ambiguousAudited++;
      await think();
      if (secret && tokenId) {
        await call("token.use", [200], pick(), "GET", "/api/notes?limit=5", { headers: bearer(secret) });
        await think();
        // Scopes only narrow: a read-only token cannot write.
        await call("token.scope", [403], pick(), "POST", "/api/notes", { headers: { ...json, ...bearer(secret) }, body: JSON.stringify({ title: "nope" }) });
        await think();
        const deleted = await call("token.delete", [204], pick(), "DELETE", `/auth/tokens/${tokenId}`, { headers: bearer(access) });
        if (deleted.status === 204) count("token.deleted");
        else if (deleted.status === 0) ledger.ambiguousAudited++;
        await call("token.after-delete", [401], pick(), "GET", "/api/notes?limit=1", { headers: bearer(secret) });
        await think();
      }
      await logout(access);
      // The logged-out token is dead at once, on any instance.
      await call("after-logout", [401], pick(), "GET", "/auth/me", { headers: bearer(access) });
      await think();
    }
  }

  async function attacker(): Promise<void> {
    const email = `soak-${runId}-attacker@example.com`;
    const password = `${PASSWORD_SUFFIX} attacker`;
    if (!(await register("register", email, password))) return;
    const gap = 1000 / Math.max(0.1, options.attackRate);
    let round = 0;
    let session: { access: string; refresh: string } | undefined;
    const step = () => sleep(gap);
    while (Date.now() < deadline && round < options.maxLoops) {
      round++;
      if (round % 10 === 1 || !session) session = await login(email, password);
      await step();
      if (!session) continue;
      const access = session.access;
      switch (round % 6) {
        case 0: {
          // Bad passwords against a fresh victim: the free failures get 401, then the back-off answers 429.
          const victim = `soak-${runId}-victim${round}@example.com`;
          if (!(await register("attack.victim-register", victim, `${PASSWORD_SUFFIX} victim`))) break;
          // The back-off starts at 1 s and doubles; under load an attempt can arrive after it has run out
          // and get 401 again, so past the free failures 401 or 429 is fine, but at least one 429 is due.
          let throttled = false;
          for (let attempt = 0; attempt < 7 && Date.now() < deadline + 5000; attempt++) {
            const expect = attempt < 5 ? [401] : [429, 401];
            const answer = await call("attack.bad-password", expect, pick(), "POST", "/auth/login", {
              headers: json,
              body: JSON.stringify({ email: victim, password: `wrong guess number ${attempt} here` }),
            });
            if (answer.status === 401) count("login.failure");
            else if (answer.status === 429) {
              count("login.throttled");
              throttled = true;
            }
            else if (answer.status === 0) ledger.ambiguousAudited++;
            await step();
          }
          if (!throttled) record("attack.throttle-missing", 401, 0, false, "POST", "/auth/login", `7 bad passwords for ${victim}, no 429`);
          break;
        }
        case 1: {
          const [header, payload, signature = ""] = access.split(".");
          const flipped = `${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`;
          await call("attack.tampered-token", [401], pick(), "GET", "/auth/me", { headers: bearer(`${header}.${payload}.${flipped}`) });
          await step();
          const none = `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString("base64url")}.${payload}.`;
          await call("attack.tampered-token", [401], pick(), "GET", "/auth/me", { headers: bearer(none) });
          await step();
          await call("attack.tampered-token", [401], pick(), "GET", "/api/notes", { headers: bearer(`rmp_${"A".repeat(48)}`) });
          break;
        }
        case 2: {
          // Someone else's note: 404 for read, write and delete (the durability check proves it survived).
          const ids = [...ledger.created.keys()];
          const target = ids[Math.floor(Math.random() * ids.length)];
          if (!target) break;
          await call("attack.other-note", [404], pick(), "GET", `/api/notes/${target}`, { headers: bearer(access) });
          await step();
          await call("attack.other-note", [404], pick(), "PATCH", `/api/notes/${target}`, { headers: { ...json, ...bearer(access) }, body: JSON.stringify({ title: "pwned" }) });
          await step();
          await call("attack.other-note", [404], pick(), "DELETE", `/api/notes/${target}`, { headers: bearer(access) });
          break;
        }
        case 3: {
          await call("attack.unknown-field", [400], pick(), "POST", "/api/notes", { headers: { ...json, ...bearer(access) }, body: JSON.stringify({ title: "t", owner_id: "someone" }) });
          await step();
          await call("attack.unknown-field", [400], pick(), "POST", "/auth/tokens", {
            headers: { ...json, ...bearer(access) },
            body: JSON.stringify({ name: "n", scopes: ["notes:read"], admin: true }),
          });
          break;
        }
        case 4: {
          const big = JSON.stringify({ title: "big", body: "y".repeat(1_100_000) });
          await call("attack.oversized", [413], pick(), "POST", "/api/notes", { headers: { ...json, ...bearer(access) }, body: big });
          break;
        }
        case 5: {
          const junk = ["/api/notes/%ZZ", `/api/notes/${"a".repeat(300)}`, "/%2e%2e/%2e%2e/etc/passwd", "/api/notes/..%2f..%2fadmin", "/api//notes", "/wp-login.php", "/api/notes/x?limit=-1&offset=abc"];
          for (const path of junk) {
            await call("attack.path-junk", [400, 404, 414], pick(), "GET", path, { headers: bearer(access) });
            await step();
          }
          break;
        }
      }
      await step();
    }
    if (session) await logout(session.access);
  }

  await Promise.all([...Array.from({ length: options.users }, (_, i) => user(i)), attacker()]);
  return { startedAt: new Date(start).toISOString(), durationS: (Date.now() - start) / 1000, loops, kinds, unexpectedSamples, nonProblemSamples, ledger };
}
