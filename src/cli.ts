#!/usr/bin/env node
/**
 * The `herald` command: the server by default (`herald [start] [options]`), and
 * the operator's tools beside it. Exit codes: 0 done, 1 failed, 2 used wrongly.
 */
import { appsCommand } from "./cli/apps-commands.js";
import { health } from "./cli/health.js";
import { trigger } from "./cli/trigger.js";
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

const [command, ...rest] = process.argv.slice(2);
if (command === "trigger") await run(() => trigger(rest, process.env));
else if (command === "apps") await run(() => appsCommand(rest, process.env));
else if (command === "health") await run(() => health(rest, process.env));
else {
  // The server reads its flags from process.argv: drop the optional "start".
  if (command === "start") process.argv.splice(2, 1);
  await import("./main.js");
}
