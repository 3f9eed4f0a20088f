/**
 * Mounts Herald's routes on a uWebSockets.js app: the WebSocket route, the HTTP
 * API, /health and /ready, and a JSON 404 for everything else, all under the
 * configured path prefix. The services come built (main.ts).
 */
import type { ChannelBuffers, EventCache } from "../cluster/cluster.js";
import { triggerBatch } from "./api/batch-events.js";
import { channelUsers } from "./api/channel-users.js";
import { channelInfo } from "./api/channel.js";
import { listChannels } from "./api/channels.js";
import { triggerEvent, type PublishingServices } from "./api/events.js";
import { signedEndpoint, type Route, type SignedEndpointServices } from "./api/signed-endpoint.js";
import { terminateUserConnections } from "./api/terminate-user-connections.js";
import { sendError, watchAbort } from "./http-io.js";
import { health, readiness } from "./ops/health.js";
import type { TemplatedApp } from "./uws.js";
import type { SessionRelay } from "./http-transport/relay.js";
import { mountHttpTransports, type HttpSessions, type HttpTransportServices } from "./http-transport/routes.js";
import type { SocketLimits } from "./pusher-connection.js";
import { websocketBehavior } from "./websocket-handler.js";

/** What the public port's routes use, all together. */
export interface RouteServices extends HttpTransportServices, SignedEndpointServices, PublishingServices {
  readonly eventCache: EventCache;
  readonly channelBuffers: ChannelBuffers;
}

export interface RouteOptions extends SocketLimits {
  /** "" or a path such as /ws that a proxy forwards with its prefix (--path-prefix). */
  readonly pathPrefix: string;
  /** The server-wide HTTP API body cap (--max-body-kb). */
  readonly maxBodyBytes: number;
  /** Whether to serve pusher-js's HTTP fallback, and its httpPath (under pathPrefix). */
  readonly httpTransports: boolean;
  readonly httpTransportPath: string;
  /** Where this node's sessions send their later requests (--advertise-host). */
  readonly advertiseHost: string | undefined;
  /** On worker threads: how the fallback's requests reach their session's thread. */
  readonly sessionRelay?: SessionRelay;
  /** Why this node should not take clients now (its cluster store unreachable), for /ready. */
  readonly problem: () => string | undefined;
}

function apiRoutes(services: RouteServices): readonly Route[] {
  return [
    { method: "POST", path: "/events", params: 0, endpoint: triggerEvent(services), publishes: true },
    { method: "POST", path: "/batch_events", params: 0, endpoint: triggerBatch(services), publishes: true },
    { method: "GET", path: "/channels", params: 0, endpoint: listChannels(services) },
    { method: "GET", path: "/channels/:channel", params: 1, endpoint: channelInfo(services) },
    { method: "GET", path: "/channels/:channel/users", params: 1, endpoint: channelUsers(services) },
    { method: "POST", path: "/users/:userId/terminate_connections", params: 1, endpoint: terminateUserConnections(services) },
  ];
}

/** Mounts every route; answers the HTTP fallback's sessions, for the stop. */
export function mountRoutes(uwsApp: TemplatedApp, services: RouteServices, options: RouteOptions): HttpSessions | undefined {
  const prefix = options.pathPrefix;
  uwsApp.ws(`${prefix}/app/:key`, websocketBehavior(services, options));
  const sessions = options.httpTransports ? mountHttpTransports(uwsApp, services, options, `${prefix}${options.httpTransportPath}`, options.advertiseHost, options.sessionRelay) : undefined;
  // The API is also served at the root: backends often call Herald directly, not
  // through the proxy that needs the prefix, and the Pusher SDKs cannot add one.
  const routes = apiRoutes(services);
  for (const mount of new Set([prefix, ""])) {
    for (const route of routes) {
      const pattern = `${mount}/apps/:appId${route.path}`;
      const handler = signedEndpoint(services, route, mount, options.maxBodyBytes);
      if (route.method === "POST") uwsApp.post(pattern, handler);
      else uwsApp.get(pattern, handler);
    }
    for (const [path, handler] of [["/health", health(services)], ["/ready", readiness(services.lifecycle, options.problem)]] as const) {
      uwsApp.get(`${mount}${path}`, handler);
      uwsApp.head(`${mount}${path}`, handler);
    }
  }
  uwsApp.any("/*", (res, req) => {
    const state = watchAbort(res, req);
    const message = `No route for ${req.getMethod().toUpperCase()} ${req.getUrl().slice(0, 200)}. WebSockets connect to ${prefix}/app/{key}; the HTTP API is under ${prefix}/apps/{app_id}/.`;
    // Any body that follows is not read, so the connection cannot be reused.
    sendError(res, state, 404, message, true);
  });
  return sessions;
}
