import { runCli } from "./main.ts";

runCli(process.argv.slice(2));
