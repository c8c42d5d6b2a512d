/**
 * The Host allowlist (RAMPART_ALLOWED_HOSTS): which names the `Host` header may carry. A request for
 * any other name is refused, so a forged Host can never steer a redirect, an absolute URL or a
 * cache key (host-header injection). Entries: `api.example.com` (that name, any port),
 * `api.example.com:8443` (that name and port), `.example.com` (the name and every subdomain),
 * `127.0.0.1`, `[::1]`. Names are compared case-insensitively, without a trailing dot.
 */
export interface HostMatcher {
  /** True when no allowlist is configured: any host passes (development only). */
  readonly any: boolean;
  allows(host: string | undefined): boolean;
}

export class InvalidHostEntryError extends Error {
  constructor(
    readonly index: number,
    entry: string,
  ) {
    super(`expected a host name like api.example.com, .example.com or api.example.com:8443, got "${entry}"`);
    this.name = "InvalidHostEntryError";
  }
}

const ENTRY = /^(\.?)((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;
// What a Host header may look like at all (RFC 9110 §7.2: uri-host [":" port]); anything else is refused.
const HOST_HEADER = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

interface Entry {
  name: string;
  subdomains: boolean;
  port: string | undefined;
}

export function parseAllowedHosts(entries: readonly string[]): HostMatcher {
  const parsed: Entry[] = entries.map((raw, index) => {
    const match = ENTRY.exec(raw.trim().toLowerCase().replace(/\.(?=(:\d+)?$)/, ""));
    if (!match) throw new InvalidHostEntryError(index, raw);
    return { subdomains: match[1] === ".", name: match[2] as string, port: match[3] };
  });
  if (parsed.length === 0) return { any: true, allows: (host) => host === undefined || HOST_HEADER.test(host.toLowerCase()) };
  return {
    any: false,
    allows(host) {
      if (host === undefined) return false;
      const match = HOST_HEADER.exec(host.toLowerCase());
      if (!match) return false;
      const name = (match[1] as string).replace(/\.$/, "");
      const port = match[2];
      return parsed.some(
        (entry) =>
          (entry.port === undefined || entry.port === port) &&
          (name === entry.name || (entry.subdomains && name.endsWith(`.${entry.name}`))),
      );
    },
  };
}
