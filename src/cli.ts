#!/usr/bin/env node
/**
 * The `herald` command: the server by default (`herald [start] [options]`), and
 * the operator's tools beside it. Exit codes: 0 done, 1 failed, 2 used wrongly.
 */
import { UsageError } from "./cli/usage-error.js";

async function run(command: () => void | Promise<void>): Promise<void> {
  try {
    await command();
  } catch (error) {
    // parseArgs reports unknown or malformed flags with ERR_PARSE_ARGS_* codes.
    const usage = error instanceof UsageError || String((error as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS");
    process.stderr.write(`herald: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}

// Each command loads only its own modules: Docker runs `herald health` every 10 s, and
// with every command's modules (zod, the signing code) each check took 0.37 s of CPU, now 0.16.
const [command, ...rest] = process.argv.slice(2);
if (command === "trigger") await run(async () => (await import("./cli/trigger.js")).trigger(rest, process.env));
else if (command === "apps") await run(async () => (await import("./cli/apps-commands.js")).appsCommand(rest, process.env));
else if (command === "health") await run(async () => (await import("./cli/health.js")).health(rest, process.env));
else {
  // The server reads its flags from process.argv: drop the optional "start".
  if (command === "start") process.argv.splice(2, 1);
  await import("./main.js");
}
