/**
 * The uWebSockets.js behaviour for `/app/{key}`: upgrade, open, message, close.
 * It moves frames; what a connection is and does is pusher-connection.ts's.
 */
import { ErrorCode } from "../protocol/error-codes.js";
import * as frames from "../protocol/server-frames.js";
import type { Connection } from "./connection.js";
import { connectionClosed, newConnection, openConnection, receiveFrame, type SocketLimits, type SocketServices } from "./pusher-connection.js";
import uWS, { type WebSocketBehavior } from "./uws.js";

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
      const connection = newConnection(ctx, safeDecode(req.getParameter(0) ?? ""), req.getQuery() ?? "", req.getHeader("origin"));
      res.upgrade(
        connection,
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },

    open(ws) {
      openConnection(ctx, limits, ws, "ws");
    },

    message(ws, message, isBinary) {
      if (isBinary) {
        const connection = ws.getUserData();
        keepalive.heard(connection);
        if (!connection.app) return;
        const counters = ctx.counters.of(connection.app.id);
        counters.messagesReceived += 1;
        counters.bytesReceived += message.byteLength;
        ws.send(frames.pusherError(ErrorCode.FrameRejected, "Binary frames are not part of the Pusher protocol; send JSON text."));
        return;
      }
      receiveFrame(ctx, ws, Buffer.from(message).toString("utf8"), message.byteLength);
    },

    pong(ws) {
      keepalive.heard(ws.getUserData());
    },

    close(ws, code) {
      connectionClosed(ctx, ws, code);
    },
  };
}

export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
