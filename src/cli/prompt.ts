/**
 * What the identity commands share: reading a secret (piped on stdin, or typed at a terminal with echo
 * off), and running work against the identity context so that it is always closed and a RampartError
 * becomes one line on stderr and exit code 1, never a stack trace.
 */
import { emitKeypressEvents } from "node:readline";
import pino from "pino";
import { loadConfig } from "../config/load.ts";
import type { ResolvedConfig } from "../config/resolve.ts";
import { RampartError } from "../core/errors.ts";
import { type IdentityContext, openIdentity } from "../identity/context.ts";

/** Far above any password policy's ceiling: a bound on what is held in memory, not a policy. */
const MAX_SECRET_BYTES = 64 * 1024;

/** The user pressed Ctrl-C or Ctrl-D at a prompt. */
export class PromptCancelled extends Error {
  constructor() {
    super("cancelled");
    this.name = "PromptCancelled";
  }
}

/** The first line of stdin, without its line ending. Reads no further than that line. */
export async function readFirstLine(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(buffer);
    size += buffer.length;
    if (buffer.includes(0x0a)) break;
    if (size > MAX_SECRET_BYTES) throw new RampartError("RAMPART_ERR_BAD_REQUEST", { detail: "the line on stdin is too long" });
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const end = text.indexOf("\n");
  const line = end === -1 ? text : text.slice(0, end);
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}

/**
 * Asks for a secret at the terminal with echo off: the prompt goes to stderr so stdout stays clean.
 * Backspace edits; Enter ends; Ctrl-C or Ctrl-D rejects with PromptCancelled.
 */
export function promptSecret(question: string): Promise<string> {
  const input = process.stdin;
  const output = process.stderr;
  return new Promise((resolve, reject) => {
    let value = "";
    emitKeypressEvents(input);
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    output.write(question);

    const finish = (error?: Error) => {
      input.off("keypress", onKey);
      input.setRawMode(wasRaw);
      input.pause();
      output.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onKey = (text: string | undefined, key: { name?: string; ctrl?: boolean; meta?: boolean } | undefined) => {
      if (key?.ctrl && (key.name === "c" || key.name === "d")) return finish(new PromptCancelled());
      if (key?.name === "return" || key?.name === "enter") return finish();
      if (key?.name === "backspace") {
        value = Array.from(value).slice(0, -1).join("");
        return;
      }
      if (key?.ctrl || key?.meta || text === undefined) return;
      if (value.length + text.length > MAX_SECRET_BYTES) return finish(new PromptCancelled());
      value += text;
    };
    input.on("keypress", onKey);
  });
}

/** Whether an interactive prompt is possible: stdin (where keys come from) and stderr (the prompt) are terminals. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/**
 * A stored string made safe for the operator's terminal: emails and token names may come from API
 * users, and a control character (an ANSI escape) printed raw could rewrite what the operator sees.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** `rampart: <reason>` for the operator at the terminal; store failures add the operator-only reason. */
export function describeFailure(error: RampartError): string {
  const operatorOnly = error.code === "RAMPART_ERR_STORE_UNAVAILABLE" || error.code === "RAMPART_ERR_INTERNAL";
  return operatorOnly && error.reason ? `${error.detail} (${error.reason})` : error.detail;
}

/**
 * Opens the identity context with a silent logger, runs `work`, and closes the context whatever happens.
 * A RampartError (from opening or from `work`) prints one line and gives exit code 1.
 */
export async function withIdentity(
  work: (identity: IdentityContext, config: ResolvedConfig) => Promise<number>,
  config: ResolvedConfig = loadConfig(),
): Promise<number> {
  try {
    const identity = await openIdentity(config, pino({ level: "silent" }));
    try {
      return await work(identity, config);
    } finally {
      await identity.close();
    }
  } catch (error) {
    if (error instanceof RampartError) {
      console.error(`rampart: ${describeFailure(error)}`);
      return 1;
    }
    throw error;
  }
}
