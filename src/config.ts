/**
 * Server settings from command-line flags, then environment variables, then
 * defaults. A flag wins over its variable.
 */
import { parseArgs } from "node:util";

export interface Config {
  host: string;
  port: number;
  /** Where the apps come from: an apps.json, a Soketi config file, or Reverb's REVERB_APP_* variables. */
  apps: AppsSource;
  /** Mount point for both the WebSocket and HTTP API paths, e.g. `/pusher`; empty for none. */
  pathPrefix: string;
  /** Seconds a pinged client has to answer before it is closed with 4201. */
  pongTimeout: number;
  /** Serve wss:// and https:// with this certificate and key (PEM files); undefined serves plain ws/http. */
  tls: { certFile: string; keyFile: string; passphrase: string | undefined } | undefined;
  /** pino level: fatal, error, warn, info, debug (adds connections and frames), trace or silent. */
  logLevel: string;
  /** Connections this process accepts at once, all apps together; -1 is unlimited. Over it: 4100. */
  maxConnections: number;
  /** Port of the ops listener serving GET /metrics (Prometheus) and the console; 0 turns it off. */
  metricsPort: number;
  /** Whether the ops listener serves the console. */
  console: boolean;
  /** The token every console call must bear; without one the console answers loopback only. */
  consoleToken: string | undefined;
  /** Largest WebSocket frame, in bytes; a bigger one drops the connection. */
  maxFrameBytes: number;
  /** Largest HTTP API request body, in bytes, for every app (an app's own limits may allow less). */
  maxBodyBytes: number;
  /** Output a socket may have queued before it is closed as too slow (4100). */
  maxBackpressureBytes: number;
  /** Seconds a stop may take (closing sockets, flushing webhooks, leaving the cluster) before the process exits anyway. */
  shutdownGrace: number;
  /** Redis to form a cluster with other nodes; undefined runs a single process. */
  redis: RedisTarget | undefined;
}

/**
 * A Redis server by URL, the master that Redis Sentinels name, or a Redis Cluster
 * by some of its nodes (password, and db outside a cluster, still from the URL).
 */
export interface RedisTarget {
  url: string | undefined;
  sentinels: HostPort[] | undefined;
  sentinelName: string;
  clusterNodes: HostPort[] | undefined;
}

export interface HostPort {
  host: string;
  port: number;
}

export type AppsSource =
  | { kind: "apps-file"; path: string }
  | { kind: "soketi-config"; path: string }
  | { kind: "env-app"; prefix: EnvAppPrefix; id: string; key: string; secret: string };

/** The variables that can give the one app: Herald's own, or Reverb's. */
export type EnvAppPrefix = "HERALD_APP_" | "REVERB_APP_";

/** How the source is named in messages and the start-up line. */
export function describeAppsSource(source: AppsSource): string {
  return source.kind === "env-app" ? `the ${source.prefix}* environment` : source.path;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const options = {
  host: { type: "string" },
  port: { type: "string" },
  apps: { type: "string" },
  "soketi-config": { type: "string" },
  "path-prefix": { type: "string" },
  "pong-timeout": { type: "string" },
  "shutdown-grace": { type: "string" },
  "log-level": { type: "string" },
  "ssl-cert": { type: "string" },
  "ssl-key": { type: "string" },
  "ssl-passphrase": { type: "string" },
  "max-connections": { type: "string" },
  "metrics-port": { type: "string" },
  console: { type: "string" },
  "console-token": { type: "string" },
  "max-frame-kb": { type: "string" },
  "max-body-kb": { type: "string" },
  "max-backpressure-kb": { type: "string" },
  redis: { type: "string" },
  "redis-sentinels": { type: "string" },
  "redis-sentinel-name": { type: "string" },
  "redis-cluster": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const USAGE = `Usage: herald [start] [options]     run the server
       herald trigger ...            publish an event through a running server (herald trigger --help)
       herald apps check|env|new     look after apps.json (herald apps)
       herald health [--pid N]       ask a running server's /health, on the port and scheme it was
                                     started with (read from process N, default 1: a container's)

Server options:

  --host <address>         HERALD_HOST          address to listen on (default 0.0.0.0)
  --port <number>          HERALD_PORT          port for WebSockets and the HTTP API (default 6001)
  --apps <file>            HERALD_APPS_FILE     apps file (default ./apps.json)
  --soketi-config <file>   HERALD_SOKETI_CONFIG  take the apps from a Soketi config file instead
                                                (its appManager.array.apps)
                           HERALD_APP_ID, HERALD_APP_KEY, HERALD_APP_SECRET (or Reverb's
                                                REVERB_APP_*): with no apps file given, the one app
  --path-prefix <path>     HERALD_PATH_PREFIX   serve under a path, e.g. /pusher (default none)
  --pong-timeout <seconds> HERALD_PONG_TIMEOUT  grace for a pinged client to answer (default 30)
  --ssl-cert <file>        HERALD_SSL_CERT      serve wss:// and https:// with this PEM certificate (chain)
  --ssl-key <file>         HERALD_SSL_KEY       ... and this PEM private key
  --ssl-passphrase <text>  HERALD_SSL_PASSPHRASE  the key's passphrase, if it has one
  --log-level <level>      HERALD_LOG_LEVEL     fatal, error, warn, info (default), debug (adds
                                                connections and frames), trace or silent
  --max-connections <n>    HERALD_MAX_CONNECTIONS  connections at once, all apps together (default unlimited)
  --max-frame-kb <n>       HERALD_MAX_FRAME_KB  largest WebSocket frame a client may send (default 100)
  --max-body-kb <n>        HERALD_MAX_BODY_KB   largest HTTP API request body, any app (default 10240;
                                                each app also gets room for one full batch only)
  --max-backpressure-kb <n> HERALD_MAX_BACKPRESSURE_KB  output queued for a slow client before it is
                                                closed with 4100 (default 1024)
  --metrics-port <port>    HERALD_METRICS_PORT  Prometheus GET /metrics and the console on their own
                                                port (default 9601; 0: off)
  --console <true|false>   HERALD_CONSOLE       serve the console at / on that port (default true)
  --console-token <text>   HERALD_CONSOLE_TOKEN  the token the console asks for; without one it
                                                answers only requests from this machine
  --shutdown-grace <seconds> HERALD_SHUTDOWN_GRACE  how long a stop may take before exiting anyway (default 10)
  --redis <url>            HERALD_REDIS_URL     form a cluster with the nodes on this Redis,
                                                e.g. redis://:password@redis:6379/0 (default: none, one process)
  --redis-sentinels <list> HERALD_REDIS_SENTINELS  host:port,... of Redis Sentinels to find the master with
                                                (password and db still come from --redis, if given)
  --redis-sentinel-name <name> HERALD_REDIS_SENTINEL_NAME  the master's name (default mymaster)
  --redis-cluster <list>   HERALD_REDIS_CLUSTER_NODES  host:port,... of some nodes of a Redis Cluster
                                                (password from --redis, if given)
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
    apps: appsSource(values.apps ?? env.HERALD_APPS_FILE, values["soketi-config"] ?? env.HERALD_SOKETI_CONFIG, env),
    pathPrefix: normalisePrefix(values["path-prefix"] ?? env.HERALD_PATH_PREFIX ?? ""),
    pongTimeout: integerSetting("--pong-timeout / HERALD_PONG_TIMEOUT", values["pong-timeout"] ?? env.HERALD_PONG_TIMEOUT ?? "30", 1, 3600),
    tls: tlsSettings(
      values["ssl-cert"] ?? env.HERALD_SSL_CERT,
      values["ssl-key"] ?? env.HERALD_SSL_KEY,
      values["ssl-passphrase"] ?? env.HERALD_SSL_PASSPHRASE,
    ),
    logLevel: logLevel(values["log-level"] ?? env.HERALD_LOG_LEVEL ?? "info"),
    maxConnections: maxConnections(values["max-connections"] ?? env.HERALD_MAX_CONNECTIONS),
    metricsPort: integerSetting("--metrics-port / HERALD_METRICS_PORT", values["metrics-port"] ?? env.HERALD_METRICS_PORT ?? "9601", 0, 65535),
    console: booleanSetting("--console / HERALD_CONSOLE", values.console ?? env.HERALD_CONSOLE ?? "true"),
    consoleToken: (values["console-token"] ?? env.HERALD_CONSOLE_TOKEN) || undefined,
    maxFrameBytes: 1024 * integerSetting("--max-frame-kb / HERALD_MAX_FRAME_KB", values["max-frame-kb"] ?? env.HERALD_MAX_FRAME_KB ?? "100", 1, 16 * 1024),
    maxBodyBytes: 1024 * integerSetting("--max-body-kb / HERALD_MAX_BODY_KB", values["max-body-kb"] ?? env.HERALD_MAX_BODY_KB ?? "10240", 1, 1024 * 1024),
    maxBackpressureBytes: 1024 * integerSetting("--max-backpressure-kb / HERALD_MAX_BACKPRESSURE_KB", values["max-backpressure-kb"] ?? env.HERALD_MAX_BACKPRESSURE_KB ?? "1024", 16, 1024 * 1024),
    shutdownGrace: integerSetting("--shutdown-grace / HERALD_SHUTDOWN_GRACE", values["shutdown-grace"] ?? env.HERALD_SHUTDOWN_GRACE ?? "10", 1, 3600),
    redis: redisTarget(
      values.redis ?? env.HERALD_REDIS_URL,
      values["redis-sentinels"] ?? env.HERALD_REDIS_SENTINELS,
      values["redis-sentinel-name"] ?? env.HERALD_REDIS_SENTINEL_NAME,
      values["redis-cluster"] ?? env.HERALD_REDIS_CLUSTER_NODES,
    ),
  };
}

function integerSetting(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not "${raw}".`);
  }
  return value;
}

function booleanSetting(name: string, raw: string): boolean {
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new ConfigError(`${name} must be true or false, not "${raw}".`);
}

function appsSource(appsFile: string | undefined, soketiConfig: string | undefined, env: NodeJS.ProcessEnv): AppsSource {
  if (appsFile && soketiConfig) throw new ConfigError("Give --apps or --soketi-config, not both.");
  if (soketiConfig) return { kind: "soketi-config", path: soketiConfig };
  if (appsFile) return { kind: "apps-file", path: appsFile };
  for (const prefix of ["HERALD_APP_", "REVERB_APP_"] as const) {
    const [id, key, secret] = [env[`${prefix}ID`], env[`${prefix}KEY`], env[`${prefix}SECRET`]];
    if (!id && !key && !secret) continue;
    if (!id || !key || !secret) throw new ConfigError(`The app from the environment needs all of ${prefix}ID, ${prefix}KEY and ${prefix}SECRET.`);
    return { kind: "env-app", prefix, id, key, secret };
  }
  return { kind: "apps-file", path: "apps.json" };
}

function tlsSettings(certFile: string | undefined, keyFile: string | undefined, passphrase: string | undefined): Config["tls"] {
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) throw new ConfigError("TLS needs both --ssl-cert / HERALD_SSL_CERT and --ssl-key / HERALD_SSL_KEY.");
  return { certFile, keyFile, passphrase: passphrase || undefined };
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

function logLevel(raw: string): string {
  if (!LOG_LEVELS.includes(raw)) throw new ConfigError(`--log-level / HERALD_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, not "${raw}".`);
  return raw;
}

function maxConnections(raw: string | undefined): number {
  if (raw === undefined || raw === "" || raw === "-1") return -1;
  return integerSetting("--max-connections / HERALD_MAX_CONNECTIONS", raw, 1, 100_000_000);
}

function redisTarget(
  rawUrl: string | undefined,
  rawSentinels: string | undefined,
  sentinelName: string | undefined,
  rawClusterNodes: string | undefined,
): RedisTarget | undefined {
  const url = rawUrl || undefined;
  if (url !== undefined && !/^rediss?:\/\/[^\s]*$/.test(url)) {
    throw new ConfigError(`--redis / HERALD_REDIS_URL must be a redis:// or rediss:// URL, not "${url.replace(/:[^:@/]*@/, ":***@")}".`);
  }
  const sentinels = hostPorts("--redis-sentinels / HERALD_REDIS_SENTINELS", rawSentinels);
  const clusterNodes = hostPorts("--redis-cluster / HERALD_REDIS_CLUSTER_NODES", rawClusterNodes);
  if (sentinels && clusterNodes) throw new ConfigError("Give --redis-sentinels or --redis-cluster, not both: a Redis Cluster does not use Sentinel.");
  if (url === undefined && sentinels === undefined && clusterNodes === undefined) return undefined;
  return { url, sentinels, sentinelName: sentinelName || "mymaster", clusterNodes };
}

function hostPorts(setting: string, raw: string | undefined): HostPort[] | undefined {
  if (!raw) return undefined;
  return raw.split(",").map((entry) => {
    const match = /^([^\s:]+):(\d{1,5})$/.exec(entry.trim());
    if (!match) throw new ConfigError(`${setting} must be host:port,host:port,...; "${entry}" is not host:port.`);
    return { host: match[1]!, port: Number(match[2]) };
  });
}

/** `pusher/` and `/pusher` both become `/pusher`; `/` becomes no prefix. */
function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, "");
  return trimmed.length === 0 ? "" : `/${trimmed}`;
}
