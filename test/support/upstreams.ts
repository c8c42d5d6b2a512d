/**
 * The example Flask and Django APIs (examples/flask-upstream, examples/django-upstream) started under gunicorn,
 * for the gateway's end-to-end tests. They need Debian's Python modules, so everything runs with
 * /usr/bin/python3 (override with RAMPART_TEST_PYTHON), never the `python3` first on PATH. Every request an
 * upstream receives is recorded (RECORD_FILE) so tests can assert on exactly what the gateway forwarded.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type UpstreamKind = "flask" | "django";

/** One request as the WSGI app saw it (headers after gunicorn's folding, names lower-cased). */
export interface RecordedRequest {
  framework: UpstreamKind;
  method: string;
  /** The request target exactly as gunicorn read it (RAW_URI): percent-encoding and query intact. */
  rawUri: string | null;
  pathInfo: string;
  queryString: string;
  /** The WSGI environ keys (HTTP_*) the headers ended up in. */
  environHeaders: string[];
  headers: Record<string, string>;
  body: string;
}

export interface Upstream {
  url: string;
  recordFile: string;
  output: () => string;
  seen(): RecordedRequest[];
  stop(): Promise<void>;
}

export interface UpstreamOptions {
  /** Extra environment, e.g. RAMPART_JWKS_URL, RAMPART_AUDIENCE, RAMPART_PUBLIC_ORIGIN. */
  env?: Record<string, string>;
  /** Framework debug mode: Werkzeug's / Django's debug 500 page with a traceback. */
  debug?: boolean;
  timeoutMs?: number;
}

const python = () => process.env.RAMPART_TEST_PYTHON ?? "/usr/bin/python3";
const required = () => Boolean(process.env.CI || process.env.RAMPART_REQUIRE_SERVICES);
const examples = resolve(fileURLToPath(import.meta.url), "../../../examples");
const MODULES = ["flask", "django", "rest_framework", "jwt", "cryptography", "gunicorn"];
const DEBIAN_PACKAGES = "python3-flask python3-django python3-djangorestframework python3-jwt python3-cryptography gunicorn";

/**
 * `false` when the upstreams can run; otherwise the skip reason. Throws in CI (`CI` or
 * `RAMPART_REQUIRE_SERVICES` set), so the gateway's end-to-end suites can never silently not run.
 */
export async function pythonModulesAvailable(): Promise<false | string> {
  const script = `import importlib, sys
missing = []
for name in ${JSON.stringify(MODULES)}:
    try:
        importlib.import_module(name)
    except Exception as e:
        missing.append(f"{name} ({e.__class__.__name__}: {e})")
if "jwt" in sys.modules and not importlib.import_module("jwt.algorithms").has_crypto:
    missing.append("jwt without cryptography (no EdDSA/ES256)")
print("; ".join(missing))`;
  const reason = await new Promise<string>((done) => {
    execFile(python(), ["-c", script], { env: pythonEnv({}), timeout: 15000 }, (error, stdout, stderr) => {
      if (error) done(`${python()} cannot run: ${(stderr || error.message).trim()}`);
      else done(stdout.trim() ? `${python()} lacks ${stdout.trim()}` : "");
    });
  });
  if (!reason) return false;
  const message = `${reason}; install the Debian packages: ${DEBIAN_PACKAGES}`;
  if (required()) throw new Error(`${message}; CI requires them`);
  return message;
}

function pythonEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1", ...extra };
  // A pyenv or virtualenv setting must not leak into Debian's interpreter.
  for (const name of ["PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV"]) if (!(name in extra)) delete env[name];
  return env;
}

function readRecords(file: string): RecordedRequest[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, "utf8").split("\n");
  const records: RecordedRequest[] = [];
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as RecordedRequest);
    } catch (error) {
      if (i < lines.length - 1) throw error; // only a line still being written may be incomplete
    }
  }
  return records;
}

/**
 * Starts an example upstream under gunicorn (1 worker, 127.0.0.1, a port gunicorn picks) and waits for
 * /api/health. `seen()` lists the requests received since then (after `stop()`, the last ones it saw).
 */
export async function startUpstream(kind: UpstreamKind, options: UpstreamOptions = {}): Promise<Upstream> {
  const dir = mkdtempSync(join(tmpdir(), `rampart-${kind}-upstream-`));
  const recordFile = join(dir, "requests.jsonl");
  const debugEnv: Record<string, string> = { [kind === "flask" ? "FLASK_DEBUG" : "DJANGO_DEBUG"]: options.debug ? "1" : "0" };
  const app = kind === "flask" ? "app:app" : "wsgi:application";
  const args = ["-m", "gunicorn", "--chdir", join(examples, `${kind}-upstream`), "--workers", "1"];
  args.push("--bind", "127.0.0.1:0", "--graceful-timeout", "2", "--log-level", "info", app);
  const child: ChildProcess = spawn(python(), args, {
    env: pythonEnv({ ...debugEnv, RECORD_FILE: recordFile, ...options.env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (chunk) => {
    text += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    text += chunk;
  });
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let finalRecords: RecordedRequest[] | undefined;
  const stop = async () => {
    process.removeListener("exit", killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    finalRecords ??= readRecords(recordFile);
    rmSync(dir, { recursive: true, force: true });
  };

  const fail = async (why: string): Promise<never> => {
    await stop();
    throw new Error(`${kind} upstream ${why}:\n${text}`);
  };
  const deadline = Date.now() + (options.timeoutMs ?? 15000);
  let url: string | undefined;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return fail(`exited with ${child.exitCode ?? child.signalCode}`);
    url ??= /Listening at: (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    if (url) {
      const ok = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1000) }).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) {
        writeFileSync(recordFile, ""); // forget the readiness probes: seen() starts empty
        const base = url;
        return {
          url: base,
          recordFile,
          output: () => text,
          seen: () => finalRecords ?? readRecords(recordFile),
          stop,
        };
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return fail("did not answer /api/health in time");
}
