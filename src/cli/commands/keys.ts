import { parseArgs } from "node:util";
import { loadConfig } from "../../config/load.ts";
import { rotateKeys } from "../../identity/keys.ts";
import { withIdentity } from "../prompt.ts";
import { type Command, UsageError } from "../usage.ts";

export const keysCommand: Command = {
  name: "keys",
  summary: "rotate the access-token signing key",
  help: `Usage: rampart keys rotate

keys rotate   generates a new signing key for tokens.algorithm (EdDSA or ES256), makes it the one that
              signs new access tokens, and retires the previous active keys. A retired key keeps verifying
              the tokens it signed until they expire (tokens.accessTtlSeconds, default 600, plus the clock
              tolerance), and stays in /.well-known/jwks.json until then. Prints the new kid and the
              retired kids. Servers load keys at start: restart running servers to sign with the new key.
              With HS256 there is nothing to rotate here: the key is tokens.hs256Secret (exit 1).

The database is the one \`rampart serve\` uses (RAMPART_DATA_DIR or DATABASE_URL).`,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub !== "rotate") {
      throw new UsageError(
        sub === undefined ? "keys needs a subcommand: rotate" : `unknown keys subcommand "${sub}"; expected rotate`,
      );
    }
    parseArgs({ args: rest, options: {}, strict: true, allowPositionals: false });
    const config = loadConfig();
    return withIdentity(async ({ repos }) => {
      let rotated: { kid: string; retired: string[] };
      try {
        rotated = await rotateKeys(config, repos);
      } catch (error) {
        // HS256: rotateKeys refuses with the reason (the key is the configured secret).
        if (config.tokens.algorithm === "HS256" && error instanceof Error) {
          console.error(`rampart: ${error.message}`);
          return 1;
        }
        throw error;
      }
      const { kid, retired } = rotated;
      const ttl = config.tokens.accessTtlSeconds;
      console.log(`new signing key: ${kid} (${config.tokens.algorithm})`);
      console.log(`retired: ${retired.length > 0 ? retired.join(", ") : "(none)"}`);
      console.log(
        `Retired keys keep verifying the tokens they signed until those expire (tokens.accessTtlSeconds = ${ttl} s).`,
      );
      console.log("Restart running servers so they sign with the new key.");
      return 0;
    }, config);
  },
};
