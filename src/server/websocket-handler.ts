/**
 * The uWebSockets.js behaviour for `/app/{key}`: upgrade, open, message, close.
 * It turns frames into calls and leaves the rules to the modules it calls.
 */
import type { App } from "../apps/app.js";
import { parseClientFrame } from "../protocol/client-frames.js";
import { ErrorCode } from "../protocol/error-codes.js";
import * as frames from "../protocol/server-frames.js";
import { admit } from "./admission.js";
import { relayClientEvent } from "./client-events.js";
import type { Connection, Rejection } from "./connection.js";
import type { Keepalive } from "./keepalive.js";
import type { NodeContext } from "./node-context.js";
import { signIn, signOut } from "./signin.js";
import { releaseAll, subscribe, unsubscribe } from "./subscriptions.js";
import uWS, { type WebSocket, type WebSocketBehavior } from "./uws.js";

/**
 * Largest WebSocket frame accepted; uWS drops the connection above it (1006).
 * Frames under it but over an app's payload limit get a pusher:error instead.
 */
export const MAX_FRAME_BYTES = 100 * 1024;

/** A client that cannot take frames as fast as they come is closed past this much queued output. */
const MAX_BACKPRESSURE_BYTES = 1024 * 1024;

export function websocketBehavior(ctx: NodeContext, keepalive: Keepalive): WebSocketBehavior<Connection> {
  return {
    compression: uWS.DISABLED,
    maxPayloadLength: MAX_FRAME_BYTES,
    maxBackpressure: MAX_BACKPRESSURE_BYTES,
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
      const admission = admit(ctx.apps, key, req.getQuery() ?? "", req.getHeader("origin"));
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
      if (!app) return refuse(ws, connection.rejection!);
      const serverLimit = ctx.config.maxConnections;
      if (serverLimit >= 0 && ctx.sockets.size >= serverLimit) {
        return refuse(ws, { code: ErrorCode.OverCapacity, message: `The server is at its limit of ${serverLimit} connections; try again later.` });
      }
      if (app.maxConnections >= 0 && ctx.sockets.connectionsOf(app.id) + ctx.connectionCounts.elsewhere(app.id) >= app.maxConnections) {
        return refuse(ws, {
          code: ErrorCode.AppOverQuota,
          message: `The app ${app.id} has reached its maxConnections of ${app.maxConnections}.`,
        });
      }
      ctx.sockets.add(ws, connection.socketId, app.id);
      ws.send(frames.connectionEstablished(connection.socketId, app.activityTimeout));
      if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ appId: app.id, socketId: connection.socketId }, "connection opened");
    },

    message(ws, message, isBinary) {
      const connection = ws.getUserData();
      keepalive.heard(connection);
      const { app } = connection;
      if (!app) return;
      if (isBinary) {
        ws.send(frames.pusherError(ErrorCode.FrameRejected, "Binary frames are not part of the Pusher protocol; send JSON text."));
        return;
      }
      try {
        const text = Buffer.from(message).toString("utf8");
        if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ socketId: connection.socketId, frame: redactAuth(text.slice(0, 2000)) }, "frame received");
        handleFrame(ctx, keepalive, ws, app, text);
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
      ctx.sockets.remove(connection);
      releaseAll(ctx, connection.app, connection);
      if (connection.user) signOut(ctx, ws, connection.app, connection.user);
    },
  };
}

function handleFrame(ctx: NodeContext, keepalive: Keepalive, ws: WebSocket<Connection>, app: App, text: string): void {
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
      return relayClientEvent(ctx, ws, app, frame, keepalive.now);
  }
}

function refuse(ws: WebSocket<Connection>, rejection: Rejection): void {
  ws.send(frames.pusherError(rejection.code, rejection.message));
  ws.end(rejection.code, rejection.message.slice(0, 120));
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
