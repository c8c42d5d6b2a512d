/**
 * The client-resolution recorder of one application, shared by the transport stage that records and
 * the admin route that reads (`GET /admin/diagnostics/client-resolution`). Keyed by the application's
 * resolved configuration (one frozen object per app, passed to both), so two apps in one process never
 * share samples, and nothing outlives the configuration it belongs to.
 */
import type { ResolvedConfig } from "../config/resolve.ts";
import type { ClientResolutionSetup } from "../core/client-diagnosis.ts";
import { type ClientResolutionRecorder, createClientResolutionRecorder } from "../core/client-recorder.ts";

const recorders = new WeakMap<ResolvedConfig, ClientResolutionRecorder>();

/** The recorder for this configuration, created on first use (the last 512 requests). */
export function clientResolutionRecorderOf(config: ResolvedConfig): ClientResolutionRecorder {
  let recorder = recorders.get(config);
  if (!recorder) {
    recorder = createClientResolutionRecorder();
    recorders.set(config, recorder);
  }
  return recorder;
}

/** What the diagnosis reads from the configuration. */
export function clientResolutionSetup(config: ResolvedConfig): ClientResolutionSetup {
  return {
    trustedProxies: config.trustedProxies,
    proxies: config.proxies,
    proxyHeaders: config.proxyHeaders,
    httpsEnforced: config.https.enforce,
    httpsRedirect: config.https.redirect,
    nativeTls: Boolean(config.https.tls),
  };
}
