/** A configuration that cannot start: every issue names its key and what is wrong. */
export interface ConfigIssue {
  /** `/rateLimit/login/0` for file keys, or the environment variable's name. */
  key: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.key}: ${i.message}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

