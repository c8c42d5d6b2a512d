/**
 * Memory rate-limit store under an address-rotating flood: 1,000,000 distinct keys through a bounded store,
 * against a baseline measured in the same run (a naive unbounded fixed-window counter in a `Map`, what a
 * hand-rolled limiter typically is). Prints figures only; run with `npx tsx bench/ratelimit-memory.ts`
 * (add `--expose-gc` after `tsx` for steadier memory figures).
 */
import { MemoryRateLimitStore } from "../src/core/ratelimit/memory-store.ts";
import { parsePolicy } from "../src/core/ratelimit/policy.ts";

const KEYS = 1_000_000;
const MAX_KEYS = 100_000;
const burst = parsePolicy("burst", "10/minute"); // buckets stay live for 6 s: the bound, not expiry, must hold
const sustained = parsePolicy("sustained", "1000/hour");
const gc = (globalThis as { gc?: () => void }).gc;

const keyOf = (i: number) => `ip:2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::/56`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

function memory(): { rss: number; heapUsed: number } {
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

function measure(label: string, n: number, run: (i: number) => unknown): number {
  const before = memory();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const after = memory();
  const rate = n / seconds;
  console.log(
    `${label.padEnd(52)} ${Math.round(rate).toLocaleString("en").padStart(11)} decisions/s` +
      `  rss ${mb(before.rss)} -> ${mb(after.rss)}  heapUsed ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}`,
  );
  return rate;
}

console.log(`node ${process.version}, ${KEYS.toLocaleString("en")} distinct keys, gc ${gc ? "exposed" : "not exposed"}\n`);

const store = new MemoryRateLimitStore({ maxKeys: MAX_KEYS });
const bounded = measure(`rampart memory store, maxKeys ${MAX_KEYS.toLocaleString("en")}`, KEYS, (i) =>
  store.consume([{ key: keyOf(i), policy: burst }]),
);
const { keys, evictions } = store.stats();
console.log(`${"".padEnd(52)} held ${keys.toLocaleString("en")} buckets, evicted ${evictions.toLocaleString("en")} live ones`);

const hotStore = new MemoryRateLimitStore();
const stacked = measure("rampart memory store, one key, burst + sustained", KEYS, () =>
  hotStore.consume([
    { key: "p:u_1", policy: burst },
    { key: "p:u_1", policy: sustained },
  ]),
);

// Baseline: fixed window, unbounded: no eviction at all, so memory grows with every new address.
const counts = new Map<string, number>();
const windowOf = () => Math.floor(Date.now() / burst.periodMs);
const baseline = measure("baseline: unbounded fixed-window Map", KEYS, (i) => {
  const key = `${keyOf(i)}|${windowOf()}`;
  const count = (counts.get(key) ?? 0) + 1;
  counts.set(key, count);
  return count <= burst.limit;
});
console.log(`${"".padEnd(52)} held ${counts.size.toLocaleString("en")} entries (unbounded)`);

console.log(`\nratios vs baseline: distinct keys ${(bounded / baseline).toFixed(2)}x, stacked hot key ${(stacked / baseline).toFixed(2)}x`);
