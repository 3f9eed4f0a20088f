#!/usr/bin/env node
/** Composition root: read the settings, load the apps, start the server, stop on a signal. */
import { readFileSync } from "node:fs";
import { AppRegistry } from "./apps/app-registry.js";
import { AppsFileError, loadApps } from "./apps/apps-file.js";
import { watchFile } from "./apps/file-watch.js";
import { startSingleNode } from "./cluster/local-cluster.js";
import { ClusterStartError } from "./cluster/errors.js";
import type { ClusterMembership } from "./cluster/cluster.js";
import { ConfigError, describeAppsSource, readConfig, USAGE, type Config } from "./config.js";
import { createLogger } from "./logger.js";
import { socketIdGenerator } from "./protocol/socket-ids.js";
import { PortInUseError, startServer, TlsSetupError, type RunningServer } from "./server/server.js";
import { nativeEngineProblem } from "./server/uws.js";

const log = createLogger();

/** Start-up failures go to the log for collectors and as plain text for the person at the terminal. */
function fail(message: string, exitCode = 1): never {
  log.fatal(message);
  process.stderr.write(`herald: ${message}\n`);
  process.exit(exitCode);
}

async function main(): Promise<void> {
  let config: Config | null;
  try {
    config = readConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 2);
    throw error;
  }
  if (!config) {
    console.log(USAGE);
    return;
  }
  log.level = config.logLevel;
  reportOpenFileLimit(config.maxConnections);

  const engineProblem = nativeEngineProblem();
  if (engineProblem) fail(engineProblem);

  let apps: AppRegistry;
  try {
    const loaded = loadApps(config.apps);
    for (const warning of loaded.warnings) log.warn(warning);
    apps = new AppRegistry(loaded.apps);
  } catch (error) {
    if (error instanceof AppsFileError) fail(error.message);
    throw error;
  }

  let cluster: ClusterMembership | undefined;
  if (config.redis) {
    try {
      // Loaded only for a cluster: a single process never pulls in the Redis client.
      const { joinCluster } = await import("./cluster/redis-cluster.js");
      cluster = await joinCluster({ target: config.redis, apps, log });
    } catch (error) {
      if (error instanceof ClusterStartError) fail(error.message);
      throw error;
    }
  }
  // In a cluster Redis hands out node numbers; alone, a random one keeps socket_ids
  // unique across restarts of this process.
  const nodeNumber = cluster?.nodeNumber ?? Math.floor(Math.random() * 1_000_000_000);
  let server;
  try {
    server = await startServer({
      config,
      apps,
      log,
      startCluster: cluster?.start ?? startSingleNode,
      nextSocketId: socketIdGenerator(nodeNumber),
      node: String(nodeNumber),
    });
  } catch (error) {
    if (error instanceof PortInUseError || error instanceof TlsSetupError) fail(error.message);
    throw error;
  }
  // Watching starts before the line that says Herald is up, so no change made after it is missed.
  reloadAppsOnChange(config, server, apps);
  log.info(
    { host: config.host, port: server.port, metricsPort: server.metricsPort, apps: apps.size, pathPrefix: config.pathPrefix || undefined, node: nodeNumber, cluster: cluster !== undefined },
    `Herald listening on ${config.host}:${server.port}${config.tls ? " (TLS)" : ""} with ${apps.size} app${apps.size === 1 ? "" : "s"} from ${describeAppsSource(config.apps)}${cluster ? `, node ${nodeNumber} of a Redis cluster` : ""}`,
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, graceSeconds: config.shutdownGrace }, "shutting down: draining connections");
    const deadline = setTimeout(() => {
      log.warn(`shutdown took longer than ${config.shutdownGrace} s (--shutdown-grace); exiting anyway`);
      process.exit(1);
    }, config.shutdownGrace * 1000);
    deadline.unref();
    server
      .close()
      .then(() => {
        log.info("stopped");
        process.exit(0);
      })
      .catch((error: unknown) => fail(`shutdown failed: ${String(error)}`));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

/**
 * apps.json (or the Soketi config) is read again on SIGHUP and whenever the file
 * changes. A file that does not load is logged and ignored: the apps in force stay.
 */
function reloadAppsOnChange(config: Config, server: RunningServer, apps: AppRegistry): void {
  const source = config.apps;
  let queue = Promise.resolve();
  const reload = (trigger: string) => {
    // One reload at a time, in order, so the last file read is the one in force.
    queue = queue.then(async () => {
      let loaded;
      try {
        loaded = loadApps(source);
      } catch (error) {
        if (!(error instanceof AppsFileError)) throw error;
        log.error({ trigger }, `apps not reloaded, the ${apps.size} running apps stay in force: ${error.message}`);
        return;
      }
      for (const warning of loaded.warnings) log.warn(warning);
      const changes = await server.reloadApps(loaded.apps);
      const { added, removed, changed, closedSockets } = changes;
      if (added.length + removed.length + changed.length === 0) return void log.debug({ trigger }, "apps reloaded: nothing changed");
      log.info({ trigger, added, removed, changed, closedSockets }, `apps reloaded from ${describeAppsSource(source)}: ${apps.size} apps (${added.length} added, ${removed.length} removed, ${changed.length} changed)`);
    }).catch((error: unknown) => log.error({ err: error, trigger }, "apps reload failed"));
  };
  process.on("SIGHUP", () => reload("SIGHUP"));
  if (source.kind !== "env-app") {
    watchFile(source.path, () => reload("file changed"), (error) => log.warn({ err: error }, `cannot watch ${source.path} for changes; send SIGHUP to reload it`));
  }
}

/**
 * Every connection holds a file descriptor: a low open-file limit is the first
 * wall a busy server hits, and it fails with errors that do not name it.
 */
function reportOpenFileLimit(maxConnections: number): void {
  let limit: number | undefined;
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    limit = line?.[1] === "unlimited" ? Infinity : Number(line?.[1]);
  } catch {
    return; // not Linux
  }
  if (limit === undefined || Number.isNaN(limit)) return;
  const wanted = maxConnections >= 0 ? maxConnections + 100 : 10_000;
  if (limit < wanted) {
    log.warn({ openFileLimit: limit }, `the open-file limit is ${limit}: each connection needs one, so about ${Math.max(limit - 100, 0)} connections fit; raise it (ulimit -n, LimitNOFILE, docker --ulimit nofile=...)`);
  } else {
    log.info({ openFileLimit: limit }, `open-file limit ${limit}`);
  }
}

main().catch((error: unknown) => fail(`Herald failed to start: ${error instanceof Error ? error.stack : String(error)}`));
