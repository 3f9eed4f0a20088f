/**
 * Server settings from command-line flags, then environment variables, then
 * defaults. A flag wins over its variable.
 */
import { parseArgs } from "node:util";

export interface Config {
  host: string;
  port: number;
  appsFile: string;
  /** Mount point for both the WebSocket and HTTP API paths, e.g. `/pusher`; empty for none. */
  pathPrefix: string;
  /** Seconds a pinged client has to answer before it is closed with 4201. */
  pongTimeout: number;
  /** Redis to form a cluster with other nodes; undefined runs a single process. */
  redisUrl: string | undefined;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const options = {
  host: { type: "string" },
  port: { type: "string" },
  apps: { type: "string" },
  "path-prefix": { type: "string" },
  "pong-timeout": { type: "string" },
  redis: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const USAGE = `Usage: herald [options]

  --host <address>         HERALD_HOST          address to listen on (default 0.0.0.0)
  --port <number>          HERALD_PORT          port for WebSockets and the HTTP API (default 6001)
  --apps <file>            HERALD_APPS_FILE     apps file (default ./apps.json)
  --path-prefix <path>     HERALD_PATH_PREFIX   serve under a path, e.g. /pusher (default none)
  --pong-timeout <seconds> HERALD_PONG_TIMEOUT  grace for a pinged client to answer (default 30)
  --redis <url>            HERALD_REDIS_URL     form a cluster with the nodes on this Redis,
                                                e.g. redis://:password@redis:6379/0 (default: none, one process)
  -h, --help                                    show this help`;

/** Returns the settings, or null when help was asked for. */
export function readConfig(argv: string[], env: NodeJS.ProcessEnv): Config | null {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true }));
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return null;
  return {
    host: values.host ?? env.HERALD_HOST ?? "0.0.0.0",
    port: integerSetting("--port / HERALD_PORT", values.port ?? env.HERALD_PORT ?? "6001", 0, 65535),
    appsFile: values.apps ?? env.HERALD_APPS_FILE ?? "apps.json",
    pathPrefix: normalisePrefix(values["path-prefix"] ?? env.HERALD_PATH_PREFIX ?? ""),
    pongTimeout: integerSetting("--pong-timeout / HERALD_PONG_TIMEOUT", values["pong-timeout"] ?? env.HERALD_PONG_TIMEOUT ?? "30", 1, 3600),
    redisUrl: redisUrl(values.redis ?? env.HERALD_REDIS_URL),
  };
}

function integerSetting(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not "${raw}".`);
  }
  return value;
}

function redisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (!/^rediss?:\/\/[^\s]+$/.test(raw)) {
    throw new ConfigError(`--redis / HERALD_REDIS_URL must be a redis:// or rediss:// URL, not "${raw.replace(/:[^:@/]*@/, ":***@")}".`);
  }
  return raw;
}

/** `pusher/` and `/pusher` both become `/pusher`; `/` becomes no prefix. */
function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, "");
  return trimmed.length === 0 ? "" : `/${trimmed}`;
}
