/**
 * Preloaded with `node --require` by test/e2e/ed25519-fallback.test.ts: answers `require("sodium-native")`
 * with a binding that accepts every signature, the worst thing a broken native module could do. Rampart
 * must notice (its self-test), refuse to use it, and keep refusing forged tokens.
 */
const Module = require("node:module");

const brokenBinding = { crypto_sign_verify_detached: () => true };
const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveBroken(request, ...rest) {
  if (request === "sodium-native") return "broken-sodium-native";
  return resolve.call(this, request, ...rest);
};
require.cache["broken-sodium-native"] = { id: "broken-sodium-native", filename: "broken-sodium-native", loaded: true, exports: brokenBinding };
