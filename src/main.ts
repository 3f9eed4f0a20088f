#!/usr/bin/env node
/**
 * Composition root: reads the settings, loads the apps, joins the cluster (or
 * runs alone), builds every service once, hands each route what it uses, listens,
 * and stops gracefully on a signal. Nothing else in Herald constructs a service.
 */
import { AppRegistry } from "./apps/app-registry.js";
import { AppsFileError, loadApps } from "./apps/apps-file.js";
import { AppRateLimits } from "./apps/rate-window.js";
import { ChannelDirectory } from "./channels/channel-directory.js";
import type { ClusterMembership } from "./cluster/cluster.js";
import { ClusterStartError } from "./cluster/errors.js";
import { singleNode } from "./cluster/local-cluster.js";
import { ConfigError, describeAppsSource, readConfig, USAGE, type Config } from "./config.js";
import { ConsoleTap } from "./console/tap.js";
import { createLogger } from "./logger.js";
import { NodeCounters } from "./metrics/counters.js";
import { reportOpenFileLimit } from "./open-file-limit.js";
import { socketIdGenerator } from "./protocol/socket-ids.js";
import { applyApps } from "./server/apps-reload.js";
import { reloadAppsOnChange } from "./server/apps-watch.js";
import { clusterParts, tapWebhookAttempts } from "./server/cluster-parts.js";
import { stopOnSignals, type Lifecycle } from "./server/graceful-stop.js";
import { Keepalive } from "./server/keepalive.js";
import { startOps } from "./server/ops/ops-listener.js";
import { mountRoutes } from "./server/server.js";
import { SocketRegistry } from "./server/socket-registry.js";
import { SubscriptionCounts } from "./server/subscription-counts.js";
import { UserSockets } from "./server/user-sockets.js";
import { VacantChannels } from "./server/vacant-channels.js";
import { SessionTopics } from "./server/http-transport/session-topics.js";
import { createUwsApp, TlsSetupError } from "./server/uws-app.js";
import { listenExclusively, nativeEngineProblem } from "./server/uws.js";
import { postJson } from "./webhooks/http-post.js";
import { Webhooks } from "./webhooks/webhooks.js";

/** Expired cache-channel events are also dropped when read; the sweep frees those nobody reads. */
const CACHE_SWEEP_INTERVAL_MS = 60_000;

const log = createLogger();

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
  const engineProblem = nativeEngineProblem();
  if (engineProblem) fail(engineProblem);

  const loaded = await orFail(() => loadApps(config.apps), AppsFileError);
  for (const warning of loaded.warnings) log.warn(warning);
  const apps = new AppRegistry(loaded.apps);

  let membership: ClusterMembership | undefined;
  if (config.redis) {
    // Loaded only for a cluster: a single process never pulls in the Redis client.
    const { joinCluster } = await import("./cluster/redis-cluster.js");
    membership = await orFail(() => joinCluster({ target: config.redis!, apps, log }), ClusterStartError);
  }
  // In a cluster Redis hands out node numbers; alone, a random one keeps socket_ids
  // unique across restarts of this process.
  const nodeNumber = membership?.nodeNumber ?? Math.floor(Math.random() * 1_000_000_000);

  // The services, each built once; every route receives only what it uses.
  const uwsApp = await orFail(() => createUwsApp(config.tls), TlsSetupError);
  const sockets = new SocketRegistry();
  const channels = new ChannelDirectory();
  const users = new UserSockets();
  const counters = new NodeCounters();
  const tap = new ConsoleTap(String(nodeNumber));
  const webhooks = new Webhooks(postJson, log, tapWebhookAttempts(tap));
  const sessionTopics = new SessionTopics();
  const vacant = new VacantChannels({ channels, counters, store: () => cluster.channelBuffers, broker: () => cluster.broker });
  const start = membership?.start ?? singleNode(config.maxBufferedBytes);
  const cluster = await start(clusterParts({ uwsApp, sockets, users, channels, counters, webhooks, tap, vacant, sessionTopics, broker: () => cluster.broker }));
  const { broker, occupancy, presence, onlineUsers, connectionCounts, eventCache, channelBuffers } = cluster;
  const keepalive = new Keepalive(sockets, config.pongTimeout, config.maxBackpressureBytes / 2, counters);
  const lifecycle: Lifecycle = { draining: false };
  const services = {
    log, apps, sockets, channels, users, counters, tap, webhooks, keepalive, lifecycle, cluster,
    broker, occupancy, presence, onlineUsers, connectionCounts, eventCache, channelBuffers, vacant, sessionTopics,
    rateLimits: new AppRateLimits(),
    subscriptionCounts: new SubscriptionCounts(channels, occupancy, broker, webhooks, log),
    nextSocketId: socketIdGenerator(nodeNumber),
  };

  const httpSessions = mountRoutes(uwsApp, services, { ...config, problem: () => cluster.problem() });
  const listening = await listenExclusively(uwsApp, config.host, config.port);
  if (!listening) fail(`Cannot listen on ${config.host}:${config.port}: the port is in use or the address is not available here.`);
  const ops = config.metricsPort === 0 ? undefined : await startOps(services, { ...config, port: config.metricsPort });
  if (ops === null) fail(`Cannot serve metrics on ${config.host}:${config.metricsPort}: the port is in use. Choose another with --metrics-port, or 0 to turn metrics off.`);

  keepalive.start();
  tap.start(cluster.consoleRelay);
  const cacheSweep = setInterval(() => channels.sweepCaches(Date.now()), CACHE_SWEEP_INTERVAL_MS);
  cacheSweep.unref();
  // Watching starts before the line that says Herald is up, so no change made after it is missed.
  reloadAppsOnChange(config.apps, apps, (next) => applyApps(services, next), log);
  stopOnSignals(log, config.shutdownGrace, {
    lifecycle,
    sockets,
    webhooks,
    cluster,
    httpSessions,
    stopTimers: () => {
      keepalive.stop();
      tap.stop();
      ops?.stop();
      clearInterval(cacheSweep);
      services.subscriptionCounts.stop();
    },
    listeners: ops ? [listening.socket, ops.socket] : [listening.socket],
  });
  log.info(
    { host: config.host, port: listening.port, metricsPort: ops?.port, apps: apps.size, pathPrefix: config.pathPrefix || undefined, node: nodeNumber, cluster: membership !== undefined },
    `Herald listening on ${config.host}:${listening.port}${config.tls ? " (TLS)" : ""} with ${apps.size} app${apps.size === 1 ? "" : "s"} from ${describeAppsSource(config.apps)}${membership ? `, node ${nodeNumber} of a Redis cluster` : ""}`,
  );
}

main().catch((error: unknown) => fail(`Herald failed to start: ${error instanceof Error ? error.stack : String(error)}`));
