/**
 * One Herald node: every service built once, the routes mounted, the port and the
 * ops port listening, the timers running. The process (main.ts) decides where the
 * settings, the apps and the cluster come from, and what ends the node; a node
 * only runs and, asked to, drains.
 */
import type { AppRegistry } from "./apps/app-registry.js";
import { AppRateLimits, type SharedAllowances } from "./apps/rate-window.js";
import { ChannelDirectory } from "./channels/channel-directory.js";
import type { StartCluster } from "./cluster/cluster.js";
import type { Config } from "./config.js";
import { ConsoleTap, type SharedWatches } from "./console/tap.js";
import type { Logger } from "./logger.js";
import { NodeCounters } from "./metrics/counters.js";
import { socketIdGenerator } from "./protocol/socket-ids.js";
import { applyApps, type AppChanges } from "./server/apps-reload.js";
import { clusterParts, tapWebhookAttempts } from "./server/cluster-parts.js";
import type { Drainable, Lifecycle } from "./server/graceful-stop.js";
import type { SessionRelay } from "./server/http-transport/relay.js";
import { SessionTopics } from "./server/http-transport/session-topics.js";
import { Keepalive } from "./server/keepalive.js";
import { appActivity, nodeExporter, startOps, type OtherThreads } from "./server/ops/ops-listener.js";
import { TurnJoins } from "./server/turn-joins.js";
import type { AppActivity } from "./console/stats.js";
import type { MetricsExporter } from "./metrics/prometheus.js";
import { mountRoutes } from "./server/server.js";
import { SocketRegistry } from "./server/socket-registry.js";
import { SubscriptionCounts } from "./server/subscription-counts.js";
import { UserSockets } from "./server/user-sockets.js";
import { createUwsApp } from "./server/uws-app.js";
import { closeApp, listenExclusively, listenShared } from "./server/uws.js";
import { VacantChannels } from "./server/vacant-channels.js";
import { WatchAnswers } from "./server/watch-answers.js";
import { postJson } from "./webhooks/http-post.js";
import { Webhooks } from "./webhooks/webhooks.js";
import type { App } from "./apps/app.js";

/** Expired cache-channel events are also dropped when read; the sweep frees those nobody reads. */
const CACHE_SWEEP_INTERVAL_MS = 60_000;

/** A node could not start for a reason its operator can act on. */
export class NodeStartError extends Error {
  override name = "NodeStartError";
}

export interface RunningNode {
  /** The port actually listened on (the setting may say 0). */
  readonly port: number;
  /** The ops port, when it is on. */
  readonly opsPort: number | undefined;
  /** What a graceful stop of this node needs. */
  readonly drainable: Drainable;
  /** Applies a reloaded apps.json to this node. */
  readonly applyApps: (next: readonly App[]) => Promise<AppChanges>;
  /** This node's metrics, as /metrics renders them. */
  readonly metricsText: () => Promise<string>;
  /** What this node counted per app, for the console's stats on another thread. */
  readonly activity: () => Record<string, AppActivity>;
}

export interface NodeOptions {
  /** A worker thread: listens, with the process's other threads, on the port this resolves to. */
  readonly sharedPort?: () => Promise<number>;
  /** With worker threads, on the one serving /metrics and the console: what the others count. */
  readonly otherThreads?: OtherThreads;
  /** With worker threads: each app's HTTP API allowances, shared by every thread. */
  readonly sharedAllowances?: SharedAllowances;
  /** With worker threads: which apps a console on any thread watches, known at once. */
  readonly sharedWatches?: SharedWatches;
  /** How the console names this node in its entries (default: its number). */
  readonly consoleName?: string;
  /** With worker threads: how the HTTP fallback's requests reach their session's thread. */
  readonly sessionRelay?: SessionRelay;
}

export async function startNode(config: Config, apps: AppRegistry, log: Logger, start: StartCluster, nodeNumber: number, options: NodeOptions = {}): Promise<RunningNode> {
  // The services, each built once; every route receives only what it uses.
  const uwsApp = await createUwsApp(config.tls);
  const sockets = new SocketRegistry();
  const channels = new ChannelDirectory();
  const users = new UserSockets();
  const counters = new NodeCounters();
  const tap = new ConsoleTap(options.consoleName ?? String(nodeNumber), options.sharedWatches);
  const webhooks = new Webhooks(postJson, log, tapWebhookAttempts(tap));
  const sessionTopics = new SessionTopics();
  const watchAnswers = new WatchAnswers();
  const vacant = new VacantChannels({ channels, counters, store: () => cluster.channelBuffers, broker: () => cluster.broker });
  const cluster = await start(clusterParts({ uwsApp, sockets, users, channels, counters, webhooks, tap, vacant, sessionTopics, watchAnswers, broker: () => cluster.broker }));
  const { broker, occupancy, presence, onlineUsers, connectionCounts, eventCache, channelBuffers } = cluster;
  const keepalive = new Keepalive(sockets, config.pongTimeout, config.maxBackpressureBytes / 2, counters);
  const lifecycle: Lifecycle = { draining: false };
  const services = {
    log, apps, sockets, channels, users, counters, tap, webhooks, keepalive, lifecycle, cluster,
    broker, occupancy, presence, onlineUsers, connectionCounts, eventCache, channelBuffers, vacant, sessionTopics, watchAnswers,
    rateLimits: new AppRateLimits(options.sharedAllowances),
    subscriptionCounts: new SubscriptionCounts(channels, occupancy, broker, webhooks, log),
    nextSocketId: socketIdGenerator(nodeNumber),
    joins: new TurnJoins(),
  };

  const httpSessions = mountRoutes(uwsApp, services, { ...config, problem: () => cluster.problem(), sessionRelay: options.sessionRelay });
  const wanted = options.sharedPort ? await options.sharedPort() : config.port;
  const port = await (options.sharedPort ? listenShared : listenExclusively)(uwsApp, config.host, wanted);
  if (port === null) throw new NodeStartError(`Cannot listen on ${config.host}:${wanted}: the port is in use or the address is not available here.`);
  // Built when first needed: a node without metrics pays nothing for them.
  let exporter: MetricsExporter | undefined;
  const metrics = () => (exporter ??= nodeExporter(services));
  const ops = config.metricsPort === 0 ? undefined : await startOps(services, metrics(), { ...config, port: config.metricsPort, otherThreads: options.otherThreads });
  if (ops === null) {
    // Closed before the error, with any connection it took meanwhile: a worker thread that
    // ends holding one would abort the process.
    closeApp(uwsApp);
    throw new NodeStartError(`Cannot serve metrics on ${config.host}:${config.metricsPort}: the port is in use. Choose another with --metrics-port, or 0 to turn metrics off.`);
  }

  keepalive.start();
  tap.start(cluster.consoleRelay);
  const cacheSweep = setInterval(() => channels.sweepCaches(Date.now()), CACHE_SWEEP_INTERVAL_MS);
  cacheSweep.unref();
  return {
    port,
    opsPort: ops?.port,
    applyApps: (next) => applyApps(services, next),
    metricsText: () => metrics().text(),
    activity: () => Object.fromEntries(apps.ids.map((appId) => [appId, appActivity(services, appId)])),
    drainable: {
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
      apps: ops ? [uwsApp, ops.app] : [uwsApp],
    },
  };
}
