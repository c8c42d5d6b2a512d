/**
 * The Redis store's three operations, one Lua script each so every instance sees one atomic step.
 * They mirror `state.ts` (same names, same order). KEYS[1] is the pair's hash, KEYS[2] the client's,
 * both `{f: failures, l: lockedUntil, e: expiresAt}`; ARGV[1] is now (epoch ms, from the app's clock).
 * Expiry is decided on `e`, like the memory store; PEXPIRE only collects garbage.
 */

const common = `
local now = tonumber(ARGV[1])
local function fmt(x) return string.format('%.0f', x) end
-- failures, lockedUntil, expiresAt of a live state; 0, 0, nil when missing or expired
local function current(key)
  local v = redis.call('HMGET', key, 'f', 'l', 'e')
  local e = tonumber(v[3])
  if e == nil or now >= e then return 0, 0, nil end
  return tonumber(v[1]) or 0, tonumber(v[2]) or 0, e
end
local function remaining(key)
  local _, l = current(key)
  return math.max(0, l - now)
end
`;

/** → {pairMs, clientMs}: each lock's remaining time. */
export const CHECK = `${common}
return {fmt(remaining(KEYS[1])), fmt(remaining(KEYS[2]))}
`;

/**
 * ARGV: now, freeFailures, failureWindowMs, baseDelayMs, maxDelayMs, clientMaxFailures, clientWindowMs.
 * → {failures, clientFailures, pairMs, clientMs}
 */
export const FAILURE = `${common}
local free, window, base, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local cmax, cwindow = tonumber(ARGV[6]), tonumber(ARGV[7])

local f, l = current(KEYS[1])
f = f + 1
if f >= free then
  l = math.max(l, now + math.min(base * 2 ^ math.min(f - free, 40), cap))
end
local e = math.max(l, now) + window
redis.call('HSET', KEYS[1], 'f', f, 'l', fmt(l), 'e', fmt(e))
redis.call('PEXPIRE', KEYS[1], fmt(e - now))

local cf, _, ce = current(KEYS[2])
cf = cf + 1
if ce == nil then ce = now + cwindow end
local cl = 0
if cf >= cmax then cl = ce end
redis.call('HSET', KEYS[2], 'f', cf, 'l', fmt(cl), 'e', fmt(ce))
redis.call('PEXPIRE', KEYS[2], fmt(ce - now))

return {f, cf, fmt(math.max(0, l - now)), fmt(math.max(0, cl - now))}
`;

/** → 1 when the pair's failures were cleared, 0 when it is locked (a correct password does not unlock it). */
export const SUCCESS = `${common}
if remaining(KEYS[1]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;
