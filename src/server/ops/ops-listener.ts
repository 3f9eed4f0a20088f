/**
 * The ops listener: Prometheus scrapes GET /metrics, and people open the console,
 * on a port of their own, so neither is ever exposed through the public WebSocket
 * port or its load balancer.
 */
import type { ChannelDirectory } from "../../channels/channel-directory.js";
import type { ClusterServices, ConnectionCounts } from "../../cluster/cluster.js";
import { StatsHistory, type AppActivity, type AppTotals, type OtherThreadsActivity } from "../../console/stats.js";
import { mergeExpositions } from "../../metrics/merge.js";
import { prometheusExporter, type MetricsExporter } from "../../metrics/prometheus.js";
import type { Webhooks } from "../../webhooks/webhooks.js";
import { sendError, watchAbort } from "../http-io.js";
import type { SocketRegistry } from "../socket-registry.js";
import uWS, { listenExclusively, type HttpResponse, type TemplatedApp } from "../uws.js";
import { mountConsole, type ConsoleServices } from "./console-routes.js";

/** What /metrics and the console read. */
export interface OpsServices extends ConsoleServices {
  readonly sockets: SocketRegistry;
  readonly channels: ChannelDirectory;
  readonly webhooks: Webhooks;
  readonly connectionCounts: ConnectionCounts;
  readonly cluster: Pick<ClusterServices, "redisLink">;
}

export interface OpsOptions {
  readonly host: string;
  readonly port: number;
  /** Whether the console is served (--console). */
  readonly console: boolean;
  readonly consoleToken: string | undefined;
  /** The server-wide body cap (--max-body-kb), for the console's event form. */
  readonly maxBodyBytes: number;
  /** With worker threads: what the other threads count, summed into this one's /metrics and console stats. */
  readonly otherThreads?: OtherThreads | undefined;
}

/** With worker threads, on the thread serving the ops port: the other threads' figures, asked for through the main thread. */
export interface OtherThreads {
  /** The process the threads make up, as the console's stats name it: "3, 2 threads". */
  readonly node: string;
  /** Their /metrics expositions (and the main thread's), given this thread's. */
  readonly metrics: (own: string) => Promise<string[]>;
  readonly activity: OtherThreadsActivity;
}

export interface OpsListener {
  /** Closed by the stop, connections and all. */
  readonly app: TemplatedApp;
  readonly port: number;
  /** Stops the console's feeds and stats. */
  stop(): void;
}

/** What this node's /metrics says, from what it counts. */
export function nodeExporter(services: OpsServices): MetricsExporter {
  return prometheusExporter({
    counters: services.counters,
    appIds: () => services.apps.ids,
    connections: (appId) => services.sockets.connectionsOf(appId),
    subscriptions: (appId) => services.channels.subscriptionsByKind(appId),
    webhooks: (appId) => services.webhooks.stats(appId),
    redisLink: () => services.cluster.redisLink(),
  });
}

/** Resolves to the listener, or null when the port is taken. */
export async function startOps(services: OpsServices, exporter: MetricsExporter, options: OpsOptions): Promise<OpsListener | null> {
  const app = uWS.App();
  app.get("/metrics", metrics(exporter, options.otherThreads?.metrics));
  const stats = new StatsHistory(() => services.apps.ids, (appId) => appTotals(services, appId), options.otherThreads?.activity);
  const closeConsole = options.console ? mountConsole(app, services, { token: options.consoleToken, stats, statsNode: options.otherThreads?.node ?? services.tap.node, maxBodyBytes: options.maxBodyBytes }) : () => {};
  app.any("/*", (res, req) => sendError(res, watchAbort(res, req), 404, "This port serves GET /metrics and the console (GET /) only.", true));
  const port = await listenExclusively(app, options.host, options.port);
  if (port === null) return null;
  if (options.console) stats.start();
  return {
    app,
    port,
    stop() {
      stats.stop();
      closeConsole();
    },
  };
}

function metrics(exporter: MetricsExporter, otherThreads: OtherThreads["metrics"] | undefined) {
  const text = async () => {
    const own = await exporter.text();
    return otherThreads ? mergeExpositions([own, ...(await otherThreads(own))]) : own;
  };
  return (res: HttpResponse): void => {
    const state = watchAbort(res);
    text().then(
      (text) => {
        if (state.aborted) return;
        res.cork(() => res.writeHeader("Content-Type", exporter.contentType).end(text));
      },
      (error: unknown) => sendError(res, state, 500, `Collecting metrics failed: ${String(error)}`),
    );
  };
}

function appTotals(services: OpsServices, appId: string): AppTotals {
  return { connections: services.sockets.connectionsOf(appId) + services.connectionCounts.elsewhere(appId), ...appActivity(services, appId) };
}

/** What this node counted for the app, for the console's stats (a worker thread's, for the thread serving them). */
export function appActivity(services: Pick<OpsServices, "counters" | "webhooks">, appId: string): AppActivity {
  const counters = services.counters.of(appId);
  return {
    messagesReceived: counters.messagesReceived,
    messagesSent: counters.messagesSent,
    apiRequests: counters.apiRequests,
    webhookQueue: services.webhooks.stats(appId)?.queued ?? 0,
  };
}
