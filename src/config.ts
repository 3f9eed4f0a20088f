/**
 * Server settings from command-line flags, then environment variables, then
 * defaults. A flag wins over its variable.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { cgroupCpuQuota } from "./cpu-quota.js";
import { SETTINGS, settingName, settingsHelp, type Setting, type SettingFlag } from "./settings.js";

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
  /** Whether pusher-js's HTTP fallback transports are served, and where (pusher-js's httpPath). */
  httpTransports: boolean;
  httpTransportPath: string;
  /** The host name HTTP fallback sessions are pinned to (`o{"hostname":...}`), if any. */
  advertiseHost: string | undefined;
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
  /** Memory a single process's vacant-channel buffers may hold; past it the least recently written buffer goes. */
  maxBufferedBytes: number;
  /** Worker threads sharing the port (1: the main thread serves alone). */
  workers: number;
  /** For `--workers auto`, what it counted: the CPUs the process may run on, and its cgroups' cap on its CPU time, in CPUs. */
  workersAuto: { cpus: number; cpuQuota: number | undefined } | undefined;
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
  ...Object.fromEntries(SETTINGS.map((setting) => [setting.flag, { type: "string" as const }])),
  help: { type: "boolean" as const, short: "h" },
};

export const USAGE = `Usage: herald [start] [options]     run the server
       herald trigger ...            publish an event through a running server (herald trigger --help)
       herald apps check|env|new     look after apps.json (herald apps)
       herald health [--pid N]       ask a running server's /health, on the port and scheme it was
                                     started with (read from process N, default 1: a container's)

Server options (a flag wins over its environment variable):

${settingsHelp()}
  -h, --help                           show this help

With no apps file given, HERALD_APP_ID, HERALD_APP_KEY and HERALD_APP_SECRET (or Reverb's
REVERB_APP_*) give the one app.`;

/** Returns the settings, or null when help was asked for. */
export function readConfig(argv: string[], env: NodeJS.ProcessEnv): Config | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true }));
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) return null;
  /** The flag, else the variable, else the default; "" counts as unset. */
  const raw = (flag: SettingFlag): string | undefined => {
    const setting = settingOf(flag);
    return (values[flag] as string | undefined) || env[setting.env] || setting.default;
  };
  const integer = (flag: SettingFlag): number => {
    const setting = settingOf(flag);
    const [min, max] = setting.range!;
    return integerSetting(settingName(setting), raw(flag)!, min, max);
  };
  return {
    host: raw("host")!,
    port: integer("port"),
    // apps.json is the default only when the environment gives no app of its own.
    apps: appsSource((values.apps as string | undefined) || env.HERALD_APPS_FILE, raw("soketi-config"), env),
    pathPrefix: normalisePrefix(raw("path-prefix") ?? ""),
    pongTimeout: integer("pong-timeout"),
    tls: tlsSettings(raw("ssl-cert"), raw("ssl-key"), raw("ssl-passphrase")),
    logLevel: logLevel(raw("log-level")!),
    maxConnections: maxConnections(raw("max-connections")),
    metricsPort: integer("metrics-port"),
    console: booleanSetting(settingName(settingOf("console")), raw("console")!),
    httpTransports: booleanSetting(settingName(settingOf("http-transports")), raw("http-transports")!),
    httpTransportPath: normalisePrefix(raw("http-transport-path")!),
    advertiseHost: raw("advertise-host"),
    consoleToken: raw("console-token"),
    maxFrameBytes: 1024 * integer("max-frame-kb"),
    maxBodyBytes: 1024 * integer("max-body-kb"),
    maxBackpressureBytes: 1024 * integer("max-backpressure-kb"),
    maxBufferedBytes: 1024 * 1024 * integer("max-buffered-mb"),
    shutdownGrace: integer("shutdown-grace"),
    ...workersSetting(settingName(settingOf("workers")), raw("workers")!),
    redis: redisTarget(raw("redis"), raw("redis-sentinels"), raw("redis-sentinel-name"), raw("redis-cluster")),
  };
}

function settingOf(flag: SettingFlag): Setting {
  return SETTINGS.find((setting) => setting.flag === flag)!;
}

/**
 * A number of worker threads, or `auto`: one per CPU this process may use, the CPUs it may run on
 * or, when its cgroups cap its CPU time at fewer (`docker run --cpus`), that cap, rounded down, as
 * Node 22's availableParallelism() counts it.
 */
function workersSetting(name: string, raw: string): Pick<Config, "workers" | "workersAuto"> {
  if (raw !== "auto") return { workers: integerSetting(name, raw, 1, 256), workersAuto: undefined };
  const cpus = availableParallelism();
  const cpuQuota = cgroupCpuQuota();
  return { workers: Math.min(cpus, Math.max(1, Math.floor(cpuQuota ?? cpus))), workersAuto: { cpus, cpuQuota } };
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
  return { kind: "apps-file", path: settingOf("apps").default! };
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
  if (raw === undefined || raw === "-1") return -1;
  const setting = settingOf("max-connections");
  return integerSetting(settingName(setting), raw, setting.range![0], setting.range![1]);
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
  const sentinels = hostPorts(settingName(settingOf("redis-sentinels")), rawSentinels);
  const clusterNodes = hostPorts(settingName(settingOf("redis-cluster")), rawClusterNodes);
  if (sentinels && clusterNodes) throw new ConfigError("Give --redis-sentinels or --redis-cluster, not both: a Redis Cluster does not use Sentinel.");
  if (url === undefined && sentinels === undefined && clusterNodes === undefined) return undefined;
  return { url, sentinels, sentinelName: sentinelName!, clusterNodes };
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
