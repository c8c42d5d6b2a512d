/**
 * The `rampart` command. Each subcommand lives in `commands/`, owns its `--help` text and returns an
 * exit code. Bad usage and bad configuration print one clear reason and exit non-zero.
 */
import { ConfigError } from "../config/errors.ts";
import { PolicyError } from "../gateway/policy.ts";
import { checkCommand } from "./commands/check.ts";
import { clientsCommand } from "./commands/clients.ts";
import { gatewayCommand } from "./commands/gateway.ts";
import { keysCommand } from "./commands/keys.ts";
import { migrateCommand } from "./commands/migrate.ts";
import { routesCommand } from "./commands/routes.ts";
import { serveCommand } from "./commands/serve.ts";
import { tokensCommand } from "./commands/tokens.ts";
import { usersCommand } from "./commands/users.ts";
import { type Command, UsageError } from "./usage.ts";

const COMMANDS: readonly Command[] = [serveCommand, gatewayCommand, checkCommand, migrateCommand, usersCommand, tokensCommand, clientsCommand, keysCommand, routesCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: rampart <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run \`rampart <command> --help\` for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(mainHelp());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"; run \`rampart --help\` for the list`);
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(command.help);
    return 0;
  }
  return command.run(rest);
}

function reasonOf(error: unknown): string | undefined {
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof PolicyError) return error.message;
  const code = (error as { code?: string }).code;
  if (code?.startsWith("ERR_PARSE_ARGS")) return (error as Error).message;
  return undefined;
}

/** Runs the CLI and sets the exit code; the one place errors become a reason on stderr. */
export function runCli(argv: string[]): void {
  main(argv).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (error) => {
      const reason = reasonOf(error);
      if (reason) {
        console.error(`rampart: ${reason}`);
        process.exitCode = 2;
      } else {
        console.error("rampart: unexpected failure:", error);
        process.exitCode = 1;
      }
    },
  );
}
