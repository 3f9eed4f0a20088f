/**
 * The uWebSockets.js behaviour for `/app/{key}`: upgrade, open, message, close.
 * It turns frames into calls and leaves the rules to the modules it calls.
 */
import type { App } from "../apps/app.js";
import type { AppRegistry } from "../apps/app-registry.js";
import type { ConnectionCounts } from "../cluster/cluster.js";
import type { NodeCounters } from "../metrics/counters.js";
import { parseClientFrame } from "../protocol/client-frames.js";
import { ErrorCode } from "../protocol/error-codes.js";
import * as frames from "../protocol/server-frames.js";
import { closeMeaning } from "../console/entries.js";
import { admit } from "./admission.js";
import { relayClientEvent, type ClientEventServices } from "./client-events.js";
import { Closes } from "../protocol/closes.js";
import { closeConnection } from "./close-connection.js";
import type { Connection } from "./connection.js";
import type { Keepalive } from "./keepalive.js";
import type { Lifecycle } from "./graceful-stop.js";
import { signIn, signOut, type SigninServices } from "./signin.js";
import type { SocketRegistry } from "./socket-registry.js";
import { releaseAll, subscribe, unsubscribe, type SubscriptionServices } from "./subscriptions.js";
import uWS, { type WebSocket, type WebSocketBehavior } from "./uws.js";

/** What the socket route uses itself, and what the rules it calls use. */
export interface SocketServices extends SubscriptionServices, SigninServices, ClientEventServices {
  readonly apps: AppRegistry;
  /** This node's open sockets. */
  readonly sockets: SocketRegistry;
  /** Connections of each app on the other nodes, for maxConnections. */
  readonly connectionCounts: ConnectionCounts;
  readonly counters: NodeCounters;
  readonly keepalive: Keepalive;
  readonly lifecycle: Lifecycle;
  readonly nextSocketId: () => string;
}

/** The server-wide socket limits (--max-frame-kb, --max-backpressure-kb, --max-connections). */
export interface SocketLimits {
  readonly maxFrameBytes: number;
  readonly maxBackpressureBytes: number;
  readonly maxConnections: number;
}

export function websocketBehavior(ctx: SocketServices, limits: SocketLimits): WebSocketBehavior<Connection> {
  const { keepalive } = ctx;
  return {
    compression: uWS.DISABLED,
    // uWS drops the connection (1006) above it; frames under it but over an app's
    // payload limit get a pusher:error instead.
    maxPayloadLength: limits.maxFrameBytes,
    // The keepalive sweep closes a slow socket with 4100 (and counts it) once it holds
    // half of this; a burst that fills all of it within the second is closed by uWS
    // at once (1006), so memory per socket stays bounded either way.
    maxBackpressure: limits.maxBackpressureBytes,
    // Typed as a number in uWS's declarations; the engine reads it as a flag.
    closeOnBackpressureLimit: 1,
    // Liveness is Herald's (see keepalive.ts): per-app timeouts and Pusher close codes.
    idleTimeout: 0,
    sendPingsAutomatically: false,

    upgrade(res, req, context) {
      if (ctx.lifecycle.draining) {
        // pusher-js retries; behind a load balancer the retry lands on a node that is not stopping.
        res.writeStatus("503 Service Unavailable").end("Herald is shutting down; connect again.");
        return;
      }
      const key = safeDecode(req.getParameter(0) ?? "");
      const origin = req.getHeader("origin");
      const admission = admit(ctx.apps, key, req.getQuery() ?? "", origin);
      const connection: Connection = {
        app: admission.app,
        rejection: admission.rejection,
        socketId: admission.app ? ctx.nextSocketId() : "",
        channels: undefined,
        lastSeen: keepalive.now,
        pingedAt: 0,
        open: true,
        clientEvents: undefined,
        user: undefined,
        signinDeadline: admission.app?.requireUserAuthentication ? keepalive.now + admission.app.userAuthenticationTimeout : 0,
        origin: admission.app && ctx.tap.watching(admission.app.id) ? origin : undefined,
      };
      res.upgrade(
        connection,
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },

    open(ws) {
      const connection = ws.getUserData();
      const { app } = connection;
      if (!app) return closeConnection(ws, connection.rejection!);
      const serverLimit = limits.maxConnections;
      if (serverLimit >= 0 && ctx.sockets.size >= serverLimit) return closeConnection(ws, Closes.serverFull(serverLimit));
      if (app.maxConnections >= 0 && ctx.sockets.connectionsOf(app.id) + ctx.connectionCounts.elsewhere(app.id) >= app.maxConnections) {
        return closeConnection(ws, Closes.appOverQuota(app.id, app.maxConnections));
      }
      ctx.sockets.add(ws, connection.socketId, app.id);
      ctx.counters.of(app.id).connectionsOpened += 1;
      ws.send(frames.connectionEstablished(connection.socketId, app.activityTimeout));
      if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ appId: app.id, socketId: connection.socketId }, "connection opened");
      if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "connection_opened", socketId: connection.socketId, origin: connection.origin, transport: "ws" });
    },

    message(ws, message, isBinary) {
      const connection = ws.getUserData();
      keepalive.heard(connection);
      const { app } = connection;
      if (!app) return;
      const counters = ctx.counters.of(app.id);
      counters.messagesReceived += 1;
      counters.bytesReceived += message.byteLength;
      if (isBinary) {
        ws.send(frames.pusherError(ErrorCode.FrameRejected, "Binary frames are not part of the Pusher protocol; send JSON text."));
        return;
      }
      try {
        const text = Buffer.from(message).toString("utf8");
        if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ socketId: connection.socketId, frame: redactAuth(text.slice(0, 2000)) }, "frame received");
        handleFrame(ctx, ws, app, text);
      } catch (error) {
        // A bug must cost one frame, never the process or the other sockets.
        ctx.log.error({ err: error, socketId: connection.socketId }, "frame handler failed");
        ws.send(frames.pusherError(ErrorCode.FrameRejected, "The server could not process this frame."));
      }
    },

    pong(ws) {
      keepalive.heard(ws.getUserData());
    },

    close(ws, code) {
      const connection = ws.getUserData();
      connection.open = false;
      if (!connection.app) return;
      if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ appId: connection.app.id, socketId: connection.socketId, code }, "connection closed");
      ctx.counters.of(connection.app.id).closed(code);
      if (ctx.tap.watching(connection.app.id)) {
        ctx.tap.emit(connection.app.id, { type: "connection_closed", socketId: connection.socketId, code, detail: closeMeaning(code) });
      }
      ctx.sockets.remove(connection);
      releaseAll(ctx, connection.app, connection);
      if (connection.user) signOut(ctx, ws, connection.app, connection.user);
    },
  };
}

function handleFrame(ctx: SocketServices, ws: WebSocket<Connection>, app: App, text: string): void {
  const parsed = parseClientFrame(text);
  if (!parsed.ok) {
    ws.send(frames.pusherError(ErrorCode.FrameRejected, parsed.message));
    return;
  }
  const { frame } = parsed;
  switch (frame.kind) {
    case "ping":
      ws.send(frames.PONG);
      return;
    case "pong":
      return;
    case "subscribe":
      return subscribe(ctx, ws, app, frame);
    case "unsubscribe":
      return unsubscribe(ctx, ws, app, frame.channel);
    case "signin":
      return signIn(ctx, ws, app, frame);
    case "client-event":
      return relayClientEvent(ctx, ws, app, frame, ctx.keepalive.now);
  }
}

/** Signatures never reach the logs, not even at debug level. */
function redactAuth(frame: string): string {
  return frame.replace(/("auth"\s*:\s*")[^"]*"/g, '$1[redacted]"');
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
