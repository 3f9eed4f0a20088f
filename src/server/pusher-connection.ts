/**
 * The life of a Pusher connection whatever carries it (a WebSocket, an HTTP
 * fallback session): how it is admitted and opened, what a frame from it does,
 * and what its end releases. The transports only move text.
 */
import type { App } from "../apps/app.js";
import type { AppRegistry } from "../apps/app-registry.js";
import type { ConnectionCounts } from "../cluster/cluster.js";
import { closeMeaning } from "../console/entries.js";
import type { NodeCounters } from "../metrics/counters.js";
import { channelKind } from "../protocol/channel-names.js";
import { parseClientFrame } from "../protocol/client-frames.js";
import { Closes } from "../protocol/closes.js";
import { ErrorCode } from "../protocol/error-codes.js";
import * as frames from "../protocol/server-frames.js";
import { admit } from "./admission.js";
import { relayClientEvent, type ClientEventServices } from "./client-events.js";
import { closeConnection } from "./close-connection.js";
import type { Connection, NodeSocket } from "./connection.js";
import type { Lifecycle } from "./graceful-stop.js";
import type { Keepalive } from "./keepalive.js";
import { signIn, signOut, type SigninServices } from "./signin.js";
import type { SocketRegistry } from "./socket-registry.js";
import { releaseAll, subscribe, unsubscribe, type SubscriptionServices } from "./subscriptions.js";
import type { TurnJoins } from "./turn-joins.js";

/** What a connection uses itself, and what the rules it calls use. */
export interface SocketServices extends SubscriptionServices, SigninServices, ClientEventServices {
  readonly apps: AppRegistry;
  /** This node's open connections. */
  readonly sockets: SocketRegistry;
  /** Connections of each app on the other nodes, for maxConnections. */
  readonly connectionCounts: ConnectionCounts;
  readonly counters: NodeCounters;
  readonly keepalive: Keepalive;
  readonly lifecycle: Lifecycle;
  readonly nextSocketId: () => string;
  readonly joins: TurnJoins;
}

/** The server-wide connection limits (--max-frame-kb, --max-backpressure-kb, --max-connections). */
export interface SocketLimits {
  readonly maxFrameBytes: number;
  readonly maxBackpressureBytes: number;
  readonly maxConnections: number;
}

export type Transport = "ws" | "xhr_streaming" | "xhr_polling";

/** A new connection's state: its app, or why it is refused once open. */
export function newConnection(ctx: SocketServices, key: string, rawQuery: string, origin: string): Connection {
  const admission = admit(ctx.apps, key, rawQuery, origin);
  const { keepalive } = ctx;
  return {
    app: admission.app,
    rejection: admission.rejection,
    socketId: admission.app ? ctx.nextSocketId() : "",
    channels: undefined,
    lastSeen: keepalive.now,
    pingedAt: 0,
    open: true,
    clientEvents: undefined,
    user: undefined,
    signinDeadline: admission.app?.requireUserAuthentication ? keepalive.deadlineIn(admission.app.userAuthenticationTimeout) : 0,
    origin: admission.app && ctx.tap.watching(admission.app.id) ? origin : undefined,
  };
}

/** Opens the connection, or closes it as its admission or the limits say; true when it is open. */
export function openConnection(ctx: SocketServices, limits: SocketLimits, socket: NodeSocket, transport: Transport): boolean {
  const connection = socket.getUserData();
  const { app } = connection;
  if (!app) return void closeConnection(socket, connection.rejection!), false;
  const serverLimit = limits.maxConnections;
  // With worker threads the limit is the process's: the others' connections as last seen count too.
  if (serverLimit >= 0 && ctx.sockets.size + ctx.connectionCounts.elsewhereInProcess() >= serverLimit) {
    return void closeConnection(socket, Closes.serverFull(serverLimit)), false;
  }
  if (app.maxConnections >= 0 && ctx.sockets.connectionsOf(app.id) + ctx.connectionCounts.elsewhere(app.id) >= app.maxConnections) {
    return void closeConnection(socket, Closes.appOverQuota(app.id, app.maxConnections)), false;
  }
  ctx.sockets.add(socket, connection.socketId, app.id);
  ctx.connectionCounts.changed(app.id, ctx.sockets.connectionsOf(app.id), ctx.sockets.size);
  const counters = ctx.counters.of(app.id);
  counters.connectionsOpened += 1;
  if (transport !== "ws") {
    counters.httpSessions[transport] += 1;
    counters.httpSessionsOpened[transport] += 1;
  }
  socket.send(frames.connectionEstablished(connection.socketId, app.activityTimeout));
  if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ appId: app.id, socketId: connection.socketId, transport }, "connection opened");
  if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "connection_opened", socketId: connection.socketId, origin: connection.origin, transport });
  return true;
}

/** One text frame from the client: `bytes` is its size on the wire, for the counters. */
export function receiveFrame(ctx: SocketServices, socket: NodeSocket, text: string, bytes: number): void {
  const connection = socket.getUserData();
  ctx.keepalive.heard(connection);
  const { app } = connection;
  if (!app) return;
  const counters = ctx.counters.of(app.id);
  counters.messagesReceived += 1;
  counters.bytesReceived += bytes;
  if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ socketId: connection.socketId, frame: redactAuth(text.slice(0, 2000)) }, "frame received");
  // Behind a presence join queued for the end of the turn, if any (turn-joins.ts).
  const waiting = ctx.joins.waitingBehind(connection);
  if (waiting) waiting.push(() => handleGuarded(ctx, socket, app, text));
  else handleGuarded(ctx, socket, app, text);
}

function handleGuarded(ctx: SocketServices, socket: NodeSocket, app: App, text: string): void {
  try {
    handleFrame(ctx, socket, app, text);
  } catch (error) {
    frameFailed(ctx, socket, error);
  }
}

/** A bug must cost one frame, never the process or the other connections. */
function frameFailed(ctx: SocketServices, socket: NodeSocket, error: unknown): void {
  ctx.log.error({ err: error, socketId: socket.getUserData().socketId }, "frame handler failed");
  socket.send(frames.pusherError(ErrorCode.FrameRejected, "The server could not process this frame."));
}

/** The connection is gone (closed by either side, or expired): what it held is released. */
export function connectionClosed(ctx: SocketServices, socket: NodeSocket, code: number, transport: Transport = "ws"): void {
  const connection = socket.getUserData();
  connection.open = false;
  if (!connection.app) return;
  // A connection refused at open never counted as one: it has no socket id in the registry.
  if (transport !== "ws" && ctx.sockets.get(connection.socketId) === socket) ctx.counters.of(connection.app.id).httpSessions[transport] -= 1;
  if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ appId: connection.app.id, socketId: connection.socketId, code }, "connection closed");
  ctx.counters.of(connection.app.id).closed(code);
  if (ctx.tap.watching(connection.app.id)) {
    ctx.tap.emit(connection.app.id, { type: "connection_closed", socketId: connection.socketId, code, detail: closeMeaning(code) });
  }
  ctx.sockets.remove(connection);
  ctx.connectionCounts.changed(connection.app.id, ctx.sockets.connectionsOf(connection.app.id), ctx.sockets.size);
  releaseAll(ctx, connection.app, connection);
  if (connection.user) signOut(ctx, socket, connection.app, connection.user);
}

function handleFrame(ctx: SocketServices, socket: NodeSocket, app: App, text: string): void {
  const parsed = parseClientFrame(text);
  if (!parsed.ok) {
    socket.send(frames.pusherError(ErrorCode.FrameRejected, parsed.message));
    return;
  }
  const { frame } = parsed;
  switch (frame.kind) {
    case "ping":
      socket.send(frames.PONG);
      return;
    case "pong":
      return;
    case "subscribe":
      // Joined at the end of the turn, with the turn's other joins (turn-joins.ts).
      if (channelKind(frame.channel) === "presence") {
        return ctx.joins.defer(socket.getUserData(), () => {
          try {
            subscribe(ctx, socket, app, frame);
          } catch (error) {
            frameFailed(ctx, socket, error);
          }
        });
      }
      return subscribe(ctx, socket, app, frame);
    case "unsubscribe":
      return unsubscribe(ctx, socket, app, frame.channel);
    case "signin":
      return signIn(ctx, socket, app, frame);
    case "client-event":
      return relayClientEvent(ctx, socket, app, frame, ctx.keepalive.now);
  }
}

/** Signatures never reach the logs, not even at debug level. */
function redactAuth(frame: string): string {
  return frame.replace(/("auth"\s*:\s*")[^"]*"/g, '$1[redacted]"');
}
