/**
 * Builds the uWebSockets.js app: the WebSocket route, the HTTP API routes and a
 * JSON 404 for everything else, all under the configured path prefix.
 */
import { accessSync, constants } from "node:fs";
import type { App } from "../apps/app.js";
import type { AppRegistry } from "../apps/app-registry.js";
import { AppRateLimits } from "../apps/rate-window.js";
import { ChannelDirectory } from "../channels/channel-directory.js";
import type { ClusterServices, StartCluster } from "../cluster/cluster.js";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { Closes } from "../protocol/closes.js";
import { closeConnection } from "./close-connection.js";
import { NodeCounters } from "../metrics/counters.js";
import { prometheusExporter, type MetricSources } from "../metrics/prometheus.js";
import { ConsoleTap } from "../console/tap.js";
import { StatsHistory } from "../console/stats.js";
import { postJson, type WebhookAttempts } from "../webhooks/http-post.js";
import { Webhooks } from "../webhooks/webhooks.js";
import { triggerBatch } from "./api/batch-events.js";
import { channelUsers } from "./api/channel-users.js";
import { channelInfo } from "./api/channel.js";
import { listChannels } from "./api/channels.js";
import { triggerEvent } from "./api/events.js";
import { signedEndpoint, type Route } from "./api/signed-endpoint.js";
import { terminateUserConnections } from "./api/terminate-user-connections.js";
import { applyApps, type AppChanges } from "./apps-reload.js";
import { localFanout } from "./fanout.js";
import { sendError, watchAbort } from "./http-io.js";
import { Keepalive } from "./keepalive.js";
import type { NodeContext } from "./node-context.js";
import { SocketRegistry } from "./socket-registry.js";
import { SubscriptionCounts } from "./subscription-counts.js";
import { UserSockets } from "./user-sockets.js";
import uWS, { listenExclusively, type TemplatedApp, type us_listen_socket } from "./uws.js";
import { health, readiness } from "./ops/health.js";
import { mountConsole } from "./ops/console-routes.js";
import { listenForOps } from "./ops/ops-listener.js";
import { announcePresence } from "./signin.js";
import { announceMemberAdded, announceMemberRemoved } from "./subscriptions.js";
import { websocketBehavior } from "./websocket-handler.js";

const API_ROUTES: readonly Route[] = [
  { method: "POST", path: "/events", params: 0, endpoint: triggerEvent, publishes: true },
  { method: "POST", path: "/batch_events", params: 0, endpoint: triggerBatch, publishes: true },
  { method: "GET", path: "/channels", params: 0, endpoint: listChannels },
  { method: "GET", path: "/channels/:channel", params: 1, endpoint: channelInfo },
  { method: "GET", path: "/channels/:channel/users", params: 1, endpoint: channelUsers },
  { method: "POST", path: "/users/:userId/terminate_connections", params: 1, endpoint: terminateUserConnections },
];

/** Expired cache-channel events are also dropped when read; the sweep frees those nobody reads. */
const CACHE_SWEEP_INTERVAL_MS = 60_000;

export interface ServerOptions {
  config: Config;
  apps: AppRegistry;
  log: Logger;
  /** The broker, occupancy and presence: this process alone, or a node of a Redis cluster. */
  startCluster: StartCluster;
  nextSocketId: () => string;
  /** This node's name in the console. */
  node: string;
}

export interface RunningServer {
  readonly port: number;
  /** The ops listener's port, or undefined when metrics are off. */
  readonly metricsPort: number | undefined;
  /** Puts a reloaded apps file into effect (see apps-reload.ts). */
  reloadApps(apps: readonly App[]): Promise<AppChanges>;
  /**
   * Drains: refuses new sockets, closes every socket with 4200 (pusher-js
   * reconnects at once, through the load balancer to another node), sends the
   * webhooks that are due, leaves the cluster and stops listening. The caller
   * bounds how long this may take.
   */
  close(): Promise<void>;
}

export class PortInUseError extends Error {
  override name = "PortInUseError";
}

export class TlsSetupError extends Error {
  override name = "TlsSetupError";
}

function createApp(config: Config): TemplatedApp {
  if (!config.tls) return uWS.App();
  const { certFile, keyFile, passphrase } = config.tls;
  for (const [what, file] of [["certificate (--ssl-cert)", certFile], ["key (--ssl-key)", keyFile]] as const) {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new TlsSetupError(`Cannot read the TLS ${what} at ${file}.`);
    }
  }
  try {
    return uWS.SSLApp({ cert_file_name: certFile, key_file_name: keyFile, ...(passphrase ? { passphrase } : {}) });
  } catch {
    throw new TlsSetupError(`The TLS certificate ${certFile} and key ${keyFile} could not be loaded: check that both are PEM, that they belong together, and the passphrase (--ssl-passphrase) if the key has one.`);
  }
}

function metricSources(ctx: NodeContext, cluster: ClusterServices): MetricSources {
  return {
    counters: ctx.counters,
    appIds: () => ctx.apps.ids,
    connections: (appId) => ctx.sockets.connectionsOf(appId),
    subscriptions: (appId) => ctx.channels.subscriptionsByKind(appId),
    webhooks: (appId) => ctx.webhooks.stats(appId),
    redisLink: () => cluster.redisLink(),
  };
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config, log } = options;
  const uwsApp = createApp(config);
  const sockets = new SocketRegistry();
  const channels = new ChannelDirectory();
  const users = new UserSockets();
  const tap = new ConsoleTap(options.node);
  const webhooks = new Webhooks(postJson, log, tapWebhookAttempts(tap));
  const counters = new NodeCounters();
  const cluster = await options.startCluster({
    local: {
      deliver: localFanout(uwsApp, sockets, counters),
      terminateUser: (appId, userId) => users.terminate(appId, userId),
      signedInUsers: () => users.signedIn(),
      hasUser: (appId, userId) => users.has(appId, userId),
      connections: (appId) => sockets.connectionsOf(appId),
    },
    channels,
    consoles: tap,
    events: {
      heard: (app) => webhooks.heard(app) || tap.watching(app.id),
      channelOccupied: (app, channel) => {
        webhooks.channelOccupied(app, channel);
        if (tap.watching(app.id)) tap.emit(app.id, { type: "channel_occupied", channel });
      },
      channelVacated: (app, channel) => {
        webhooks.channelVacated(app, channel);
        if (tap.watching(app.id)) tap.emit(app.id, { type: "channel_vacated", channel });
      },
      memberAdded: (app, channel, userId) => {
        webhooks.memberAdded(app, channel, userId);
        if (tap.watching(app.id)) tap.emit(app.id, { type: "member_added", channel, userId });
      },
      memberRemoved: (app, channel, userId) => {
        webhooks.memberRemoved(app, channel, userId);
        if (tap.watching(app.id)) tap.emit(app.id, { type: "member_removed", channel, userId });
      },
      memberCame: (app, channel, userId, userInfo) => announceMemberAdded(ctx, app, channel, userId, userInfo),
      memberGone: (app, channel, userId) => announceMemberRemoved(ctx, app, channel, userId),
      userCame: (app, userId) => announcePresence(ctx, app, userId, "online"),
      userGone: (app, userId) => announcePresence(ctx, app, userId, "offline"),
    },
  });
  const { broker, occupancy, presence, onlineUsers, connectionCounts, eventCache } = cluster;
  const ctx: NodeContext = {
    config,
    log,
    apps: options.apps,
    channels,
    sockets,
    users,
    broker,
    rateLimits: new AppRateLimits(),
    subscriptionCounts: new SubscriptionCounts(channels, occupancy, broker, webhooks, log),
    webhooks,
    occupancy,
    presence,
    onlineUsers,
    connectionCounts,
    eventCache,
    tap,
    counters,
    nextSocketId: options.nextSocketId,
    lifecycle: { draining: false },
  };
  const keepalive = new Keepalive(sockets, config.pongTimeout, config.maxBackpressureBytes / 2, counters);
  const prefix = config.pathPrefix;

  uwsApp.ws(`${prefix}/app/:key`, websocketBehavior(ctx, keepalive));
  // The API is also served at the root: backends often call Herald directly, not
  // through the proxy that needs the prefix, and the Pusher SDKs cannot add one.
  for (const mount of new Set([prefix, ""])) {
    for (const route of API_ROUTES) {
      const pattern = `${mount}/apps/:appId${route.path}`;
      const handler = signedEndpoint(ctx, mount, route);
      if (route.method === "POST") uwsApp.post(pattern, handler);
      else uwsApp.get(pattern, handler);
    }
  }
  for (const mount of new Set([prefix, ""])) {
    uwsApp.get(`${mount}/health`, health(ctx, Date.now()));
    uwsApp.get(`${mount}/ready`, readiness(ctx, () => cluster.problem()));
  }
  uwsApp.any("/*", (res, req) => {
    const state = watchAbort(res);
    const message = `No route for ${req.getMethod().toUpperCase()} ${req.getUrl().slice(0, 200)}. WebSockets connect to ${prefix}/app/{key}; the HTTP API is under ${prefix}/apps/{app_id}/.`;
    // Any body that follows is not read, so the connection cannot be reused.
    sendError(res, state, 404, message, true);
  });

  const listening = await listenExclusively(uwsApp, config.host, config.port);
  if (!listening) {
    throw new PortInUseError(`Cannot listen on ${config.host}:${config.port}: the port is in use or the address is not available here.`);
  }
  const stats = new StatsHistory(() => ctx.apps.ids, (appId) => appTotals(ctx, appId));
  let closeConsole = () => {};
  let metricsSocket: us_listen_socket | null = null;
  if (config.metricsPort !== 0) {
    const mount = (opsApp: TemplatedApp) => {
      if (config.console) closeConsole = mountConsole(opsApp, ctx, { token: config.consoleToken, stats });
    };
    metricsSocket = await listenForOps(config.host, config.metricsPort, prometheusExporter(metricSources(ctx, cluster)), mount);
    if (!metricsSocket) {
      uWS.us_listen_socket_close(listening.socket);
      throw new PortInUseError(`Cannot serve metrics on ${config.host}:${config.metricsPort}: the port is in use. Choose another with --metrics-port, or 0 to turn metrics off.`);
    }
  }
  keepalive.start();
  tap.start(cluster.consoleRelay);
  if (config.console && metricsSocket) stats.start();
  const cacheSweep = setInterval(() => ctx.channels.sweepCaches(Date.now()), CACHE_SWEEP_INTERVAL_MS);
  cacheSweep.unref();

  return {
    port: listening.port,
    metricsPort: metricsSocket ? uWS.us_socket_local_port(metricsSocket) : undefined,
    reloadApps: (apps) => applyApps(ctx, cluster, apps),
    async close() {
      // /ready turns 503 and new sockets are refused, but the port stays open until
      // the end so the load balancer can still read /ready.
      ctx.lifecycle.draining = true;
      keepalive.stop();
      tap.stop();
      stats.stop();
      closeConsole();
      clearInterval(cacheSweep);
      ctx.subscriptionCounts.stop();
      for (const ws of [...sockets.sockets()]) closeConnection(ws, Closes.shuttingDown());
      // Departures are held 3 s (clients reconnecting elsewhere cancel theirs); then
      // their webhooks, and whatever else is queued, go out before the node leaves.
      await cluster.settled();
      await webhooks.flush();
      webhooks.stop();
      await cluster.close();
      uWS.us_listen_socket_close(listening.socket);
      if (metricsSocket) uWS.us_listen_socket_close(metricsSocket);
    },
  };
}

function appTotals(ctx: NodeContext, appId: string) {
  const counters = ctx.counters.of(appId);
  return {
    connections: ctx.sockets.connectionsOf(appId) + ctx.connectionCounts.elsewhere(appId),
    messagesReceived: counters.messagesReceived,
    messagesSent: counters.messagesSent,
    apiRequests: counters.apiRequests,
    webhookQueue: ctx.webhooks.stats(appId)?.queued ?? 0,
  };
}

/** Every webhook request, for the consoles watching its app. */
function tapWebhookAttempts(tap: ConsoleTap): WebhookAttempts {
  return (appId, url, attempt, events, result) => {
    if (!tap.watching(appId)) return;
    const detail = `${url} (${events} event${events === 1 ? "" : "s"})`;
    if (result.ok) tap.emit(appId, { type: "webhook_sent", detail, status: result.status, attempt });
    else tap.emit(appId, { type: "webhook_failed", detail: `${detail}: ${result.reason}`, status: result.status, attempt });
  };
}
