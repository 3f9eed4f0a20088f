/**
 * Every server setting, declared once: its flag, its environment variable, its
 * default, its range and its help line. The parser (config.ts), `herald --help`
 * and a test of the README's settings table all read this table.
 */

export interface Setting {
  /** Without the leading dashes, as parseArgs names it. */
  readonly flag: string;
  readonly env: string;
  /** The default as the parser reads it; undefined for none. */
  readonly default: string | undefined;
  /** How the README shows the default ("none" when there is none). */
  readonly shownDefault?: string;
  /** What the flag takes, for --help. */
  readonly value: string;
  /** Whole numbers: the range allowed. */
  readonly range?: readonly [number, number];
  /** --help's line. */
  readonly help: string;
}

export const SETTINGS = [
  { flag: "host", env: "HERALD_HOST", default: "0.0.0.0", value: "<address>", help: "address to listen on" },
  { flag: "port", env: "HERALD_PORT", default: "6001", value: "<number>", range: [0, 65535], help: "port for WebSockets and the HTTP API (0 picks a free one)" },
  { flag: "apps", env: "HERALD_APPS_FILE", default: "apps.json", value: "<file>", help: "the apps file" },
  { flag: "soketi-config", env: "HERALD_SOKETI_CONFIG", default: undefined, value: "<file>", help: "take the apps from a Soketi config file instead (its appManager.array.apps)" },
  { flag: "path-prefix", env: "HERALD_PATH_PREFIX", default: undefined, value: "<path>", help: "serve under a path, e.g. /pusher" },
  { flag: "http-transports", env: "HERALD_HTTP_TRANSPORTS", default: "true", value: "<true|false>", help: "serve pusher-js's HTTP fallback (xhr_streaming, xhr_polling) for networks that block WebSockets" },
  { flag: "advertise-host", env: "HERALD_ADVERTISE_HOST", default: undefined, value: "<host>", help: "the host name of this node that HTTP fallback sessions send their later requests to (cluster behind a load balancer)" },
  { flag: "http-transport-path", env: "HERALD_HTTP_TRANSPORT_PATH", default: "/pusher", value: "<path>", help: "where the HTTP fallback is served (pusher-js's httpPath), under --path-prefix" },
  { flag: "pong-timeout", env: "HERALD_PONG_TIMEOUT", default: "30", value: "<seconds>", range: [1, 3600], help: "grace for a pinged client to answer before 4201" },
  { flag: "ssl-cert", env: "HERALD_SSL_CERT", default: undefined, value: "<file>", help: "serve wss:// and https:// with this PEM certificate (chain)" },
  { flag: "ssl-key", env: "HERALD_SSL_KEY", default: undefined, value: "<file>", help: "... and this PEM private key" },
  { flag: "ssl-passphrase", env: "HERALD_SSL_PASSPHRASE", default: undefined, value: "<text>", help: "the key's passphrase, if it has one" },
  { flag: "log-level", env: "HERALD_LOG_LEVEL", default: "info", value: "<level>", help: "fatal, error, warn, info, debug (adds connections and frames), trace or silent" },
  { flag: "max-connections", env: "HERALD_MAX_CONNECTIONS", default: undefined, shownDefault: "unlimited", value: "<n>", range: [1, 100_000_000], help: "connections at once, all apps together (default unlimited; over it 4100)" },
  { flag: "max-frame-kb", env: "HERALD_MAX_FRAME_KB", default: "100", value: "<n>", range: [1, 16 * 1024], help: "largest WebSocket frame a client may send" },
  { flag: "max-body-kb", env: "HERALD_MAX_BODY_KB", default: "10240", value: "<n>", range: [1, 1024 * 1024], help: "largest HTTP API request body, any app (each app also gets room for one full batch only)" },
  { flag: "max-backpressure-kb", env: "HERALD_MAX_BACKPRESSURE_KB", default: "1024", value: "<n>", range: [16, 1024 * 1024], help: "output queued for a slow client before it is closed with 4100" },
  { flag: "max-buffered-mb", env: "HERALD_MAX_BUFFERED_MB", default: "64", value: "<n>", range: [1, 64 * 1024], help: "memory the vacant-channel buffers of a single process may hold, all apps together" },
  { flag: "metrics-port", env: "HERALD_METRICS_PORT", default: "9601", value: "<port>", range: [0, 65535], help: "the ops port: Prometheus GET /metrics and the console (0: off)" },
  { flag: "console", env: "HERALD_CONSOLE", default: "true", value: "<true|false>", help: "serve the console at / on the ops port" },
  { flag: "console-token", env: "HERALD_CONSOLE_TOKEN", default: undefined, value: "<text>", help: "the token the console asks for; without one it answers only this machine" },
  { flag: "workers", env: "HERALD_WORKERS", default: "1", value: "<n|auto>", help: "worker threads sharing the port, each on its own core (auto: one per CPU this process may use, a cgroup's CPU cap counted)" },
  { flag: "shutdown-grace", env: "HERALD_SHUTDOWN_GRACE", default: "10", value: "<seconds>", range: [1, 3600], help: "how long a stop may take before exiting anyway" },
  { flag: "redis", env: "HERALD_REDIS_URL", default: undefined, value: "<url>", help: "form a cluster with the nodes on this Redis, e.g. redis://:password@redis:6379/0" },
  { flag: "redis-sentinels", env: "HERALD_REDIS_SENTINELS", default: undefined, value: "<list>", help: "host:port,... of Redis Sentinels to find the master with" },
  { flag: "redis-sentinel-name", env: "HERALD_REDIS_SENTINEL_NAME", default: "mymaster", value: "<name>", help: "the master's name in Sentinel" },
  { flag: "redis-cluster", env: "HERALD_REDIS_CLUSTER_NODES", default: undefined, value: "<list>", help: "host:port,... of some nodes of a Redis Cluster" },
] as const satisfies readonly Setting[];

export type SettingFlag = (typeof SETTINGS)[number]["flag"];

/** How the error messages and the README name a setting: "--port / HERALD_PORT". */
export function settingName(setting: Setting): string {
  return `--${setting.flag} / ${setting.env}`;
}

/** `herald --help`'s list of settings, one or more lines each. */
export function settingsHelp(): string {
  return SETTINGS.map((setting: Setting) => {
    const left = `  --${setting.flag} ${setting.value}`;
    const defaultText = setting.default === undefined ? "" : ` (default ${setting.default})`;
    return `${left.padEnd(36)} ${setting.env}\n${" ".repeat(37)}${setting.help}${defaultText}`;
  }).join("\n");
}
