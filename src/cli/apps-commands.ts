/**
 * `herald apps check|env|new`: look after apps.json without hand-editing JSON or
 * copying keys into .env by hand.
 */
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { App } from "../apps/app.js";
import { loadAppsFile, parseApps } from "../apps/apps-file.js";
import { UsageError } from "./usage-error.js";

export const APPS_USAGE = `Usage:
  herald apps check [FILE]          validate an apps file (default ./apps.json) and print its problems
  herald apps env ID [options]      print the Laravel .env lines and the Echo config for app ID
      --host <host>                 where Laravel and the browser reach Herald (default 127.0.0.1)
      --port <port>                 (default 6001)
      --scheme <http|https>         (default http)
  herald apps new [options]         add an app with a random id, key and secret
      --name <name>                 a label for people
      --client-messages             allow client events (Echo's whisper)
  Every command takes --apps <file> (default ./apps.json, or HERALD_APPS_FILE).`;

export function appsCommand(argv: string[], env: NodeJS.ProcessEnv): void {
  const [subcommand, ...rest] = argv;
  if (subcommand === "--help" || subcommand === "-h" || subcommand === "help") return void process.stdout.write(`${APPS_USAGE}\n`);
  if (subcommand === "check") return check(rest, env);
  if (subcommand === "env") return printEnv(rest, env);
  if (subcommand === "new") return addApp(rest, env);
  throw new UsageError(subcommand ? `Unknown command "apps ${subcommand}".\n\n${APPS_USAGE}` : APPS_USAGE);
}

function appsFileOf(file: string | undefined, env: NodeJS.ProcessEnv): string {
  return file ?? env.HERALD_APPS_FILE ?? "apps.json";
}

function check(argv: string[], env: NodeJS.ProcessEnv): void {
  const { values, positionals } = parseArgs({ args: argv, options: { apps: { type: "string" } }, allowPositionals: true, strict: true });
  const file = appsFileOf(positionals[0] ?? values.apps, env);
  // AppsFileError names the problem; the caller prints it and exits 1.
  const { apps, warnings } = loadAppsFile(file);
  for (const warning of warnings) process.stdout.write(`warning: ${warning}\n`);
  process.stdout.write(`${file}: ${apps.length} app${apps.length === 1 ? "" : "s"} (${apps.map((app) => app.id).join(", ")}), valid.\n`);
}

function printEnv(argv: string[], env: NodeJS.ProcessEnv): void {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { apps: { type: "string" }, host: { type: "string" }, port: { type: "string" }, scheme: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const id = positionals[0];
  if (!id) throw new UsageError(`Which app? herald apps env ID\n\n${APPS_USAGE}`);
  const file = appsFileOf(values.apps, env);
  const app = loadAppsFile(file).apps.find((candidate) => candidate.id === id);
  if (!app) throw new UsageError(`${file} has no app with the id "${id}".`);
  const scheme = values.scheme ?? "http";
  if (scheme !== "http" && scheme !== "https") throw new UsageError(`--scheme must be http or https, not "${scheme}".`);
  process.stdout.write(envText(app, values.host ?? "127.0.0.1", values.port ?? "6001", scheme));
}

function envText(app: App, host: string, port: string, scheme: string): string {
  return `# Laravel .env (Laravel 10 and earlier: BROADCAST_DRIVER=pusher)
BROADCAST_CONNECTION=pusher
PUSHER_APP_ID=${app.id}
PUSHER_APP_KEY=${app.key}
PUSHER_APP_SECRET=${app.secret}
PUSHER_HOST=${host}
PUSHER_PORT=${port}
PUSHER_SCHEME=${scheme}
PUSHER_APP_CLUSTER=mt1

VITE_PUSHER_APP_KEY="\${PUSHER_APP_KEY}"
VITE_PUSHER_HOST="\${PUSHER_HOST}"
VITE_PUSHER_PORT="\${PUSHER_PORT}"
VITE_PUSHER_SCHEME="\${PUSHER_SCHEME}"
VITE_PUSHER_APP_CLUSTER="\${PUSHER_APP_CLUSTER}"

// Laravel Echo (resources/js/echo.js)
import Echo from 'laravel-echo';
import Pusher from 'pusher-js';

window.Pusher = Pusher;
window.Echo = new Echo({
  broadcaster: 'pusher',
  key: import.meta.env.VITE_PUSHER_APP_KEY,
  cluster: import.meta.env.VITE_PUSHER_APP_CLUSTER ?? 'mt1',
  wsHost: import.meta.env.VITE_PUSHER_HOST,
  wsPort: import.meta.env.VITE_PUSHER_PORT ?? 80,
  wssPort: import.meta.env.VITE_PUSHER_PORT ?? 443,
  forceTLS: (import.meta.env.VITE_PUSHER_SCHEME ?? 'https') === 'https',
  enabledTransports: ['ws', 'wss'],
});
`;
}

function addApp(argv: string[], env: NodeJS.ProcessEnv): void {
  const { values } = parseArgs({
    args: argv,
    options: { apps: { type: "string" }, name: { type: "string" }, "client-messages": { type: "boolean" } },
    strict: true,
  });
  const file = appsFileOf(values.apps, env);
  // The file is kept as written (field order, other fields): only an entry is appended.
  let content: { apps: Record<string, unknown>[] } & Record<string, unknown> = { apps: [] };
  if (existsSync(file)) {
    loadAppsFile(file); // refuse to add to a file that is already broken
    content = JSON.parse(readFileSync(file, "utf8")) as typeof content;
  }
  const taken = new Set(content.apps.map((app) => String(app.id)));
  let id: string;
  do id = String(randomInt(100_000, 1_000_000));
  while (taken.has(id));
  const app: Record<string, unknown> = {
    id,
    key: randomBytes(10).toString("hex"),
    secret: randomBytes(20).toString("hex"),
    ...(values.name ? { name: values.name } : {}),
    ...(values["client-messages"] ? { enableClientMessages: true } : {}),
  };
  content.apps.push(app);
  parseApps(content, file); // the result must load
  // Written beside and renamed over, so a running Herald's file watch never reads half a file.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(content, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  process.stdout.write(`Added app ${id} to ${file}:\n  id:     ${id}\n  key:    ${app.key}\n  secret: ${app.secret}\nA running Herald picks it up by itself. For the .env lines: herald apps env ${id}\n`);
}
