#!/usr/bin/env node
/**
 * The process: reads the settings, loads the apps, joins the cluster (or runs
 * alone), starts the node (node.ts, where every service is built once), reloads
 * apps.json when it changes, and stops gracefully on a signal.
 */
import { AppRegistry } from "./apps/app-registry.js";
import { AppsFileError, loadApps } from "./apps/apps-file.js";
import type { ClusterMembership } from "./cluster/cluster.js";
import { ClusterStartError, isRedisConnectionLoss } from "./cluster/errors.js";
import { singleNode } from "./cluster/local-cluster.js";
import { ConfigError, describeAppsSource, readConfig, USAGE, type Config } from "./config.js";
import { reportAutoWorkers } from "./cpu-quota.js";
import { createLogger } from "./logger.js";
import { reportOpenFileLimit } from "./open-file-limit.js";
import { reloadAppsOnChange } from "./server/apps-watch.js";
import { stopOnSignals } from "./server/graceful-stop.js";
import { TlsSetupError } from "./server/uws-app.js";
import { nativeEngineProblem } from "./server/uws.js";
import { NodeStartError, startNode } from "./node.js";
import { lockPort } from "./port-lock.js";

const log = createLogger();
// An error nothing caught still ends the process as Node ends it (its stack on stderr, exit
// code 1; a supervisor starts Herald again), but first as a log line, for log collectors.
process.on("uncaughtExceptionMonitor", (error, origin) => log.fatal({ err: error, origin }, "uncaught error: Herald stops"));
process.on("unhandledRejection", (reason) => {
  // Thrown on, it ends the process as above.
  if (!isRedisConnectionLoss(reason)) throw reason;
  log.warn({ err: String(reason) }, "a command the Redis client sent of its own was cut by the connection closing");
});

/** Start-up failures go to the log for collectors and as plain text for the person at the terminal. */
function fail(message: string, exitCode = 1): never {
  log.fatal(message);
  process.stderr.write(`herald: ${message}\n`);
  process.exit(exitCode);
}

/** Runs a start-up step; an error of one of the expected kinds ends the process with its message. */
async function orFail<T>(step: () => T | Promise<T>, ...expected: Array<new (...args: never[]) => Error>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (expected.some((kind) => error instanceof kind)) fail((error as Error).message);
    throw error;
  }
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
  reportOpenFileLimit(log, config.maxConnections);
  if (config.workersAuto) reportAutoWorkers(log, config.workers, config.workersAuto);
  const engineProblem = nativeEngineProblem();
  if (engineProblem) fail(engineProblem);

  const loaded = await orFail(() => loadApps(config.apps), AppsFileError);
  for (const warning of loaded.warnings) log.warn(warning);
  const apps = new AppRegistry(loaded.apps);

  if (config.workers > 1) {
    // Loaded only for worker threads: a single thread never pulls in the hub.
    const { runWorkers } = await import("./workers.js");
    const { port, opsPort, nodeNumber } = await runWorkers(config, apps, log, fail);
    log.info(
      { host: config.host, port, metricsPort: opsPort, apps: apps.size, workers: config.workers, node: nodeNumber, cluster: nodeNumber !== undefined },
      `Herald listening on ${config.host}:${port}${config.tls ? " (TLS)" : ""} with ${apps.size} app${apps.size === 1 ? "" : "s"} from ${describeAppsSource(config.apps)}, ${config.workers} worker threads${nodeNumber === undefined ? "" : `, node ${nodeNumber} of a Redis cluster`}`,
    );
    return;
  }

  let membership: ClusterMembership | undefined;
  if (config.redis) {
    // Loaded only for a cluster: a single process never pulls in the Redis client.
    const { joinCluster } = await import("./cluster/redis-cluster.js");
    membership = await orFail(() => joinCluster({ target: config.redis!, apps, log }), ClusterStartError);
  }
  // In a cluster Redis hands out node numbers; alone, a random one keeps socket_ids
  // unique across restarts of this process.
  const nodeNumber = membership?.nodeNumber ?? Math.floor(Math.random() * 1_000_000_000);
  const start = membership?.start ?? singleNode(config.maxBufferedBytes);
  // A process with worker threads shares its port with them; this lock keeps it from sharing with us.
  if (config.port !== 0 && (await lockPort(config.port)) === null) fail(`Cannot listen on ${config.host}:${config.port}: another Herald holds it.`);
  const node = await orFail(() => startNode(config, apps, log, start, nodeNumber), TlsSetupError, NodeStartError);
  if (config.port === 0) await lockPort(node.port);

  // Watching starts before the line that says Herald is up, so no change made after it is missed.
  reloadAppsOnChange(config.apps, apps, node.applyApps, log);
  stopOnSignals(log, config.shutdownGrace, node.drainable);
  log.info(
    { host: config.host, port: node.port, metricsPort: node.opsPort, apps: apps.size, pathPrefix: config.pathPrefix || undefined, node: nodeNumber, cluster: membership !== undefined },
    `Herald listening on ${config.host}:${node.port}${config.tls ? " (TLS)" : ""} with ${apps.size} app${apps.size === 1 ? "" : "s"} from ${describeAppsSource(config.apps)}${membership ? `, node ${nodeNumber} of a Redis cluster` : ""}`,
  );
}

main().catch((error: unknown) => fail(`Herald failed to start: ${error instanceof Error ? error.stack : String(error)}`));
