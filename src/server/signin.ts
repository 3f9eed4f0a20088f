/**
 * User sign-in (`pusher:signin`) for one socket, its watchlist, and the sign-out
 * when the socket closes.
 */
import type { App } from "../apps/app.js";
import { watchersChannel } from "../protocol/channel-names.js";
import type { ClientFrame } from "../protocol/client-frames.js";
import { ErrorCode } from "../protocol/error-codes.js";
import * as frames from "../protocol/server-frames.js";
import { verifyUserAuth } from "../protocol/signatures.js";
import { MAX_WATCHLIST_LENGTH, parseUserData, type SignedInUser } from "../protocol/user-data.js";
import { Closes } from "../protocol/closes.js";
import { closeConnection } from "./close-connection.js";
import type { PusherSocket } from "./connection.js";
import type { Broker, OnlineUsers } from "../cluster/cluster.js";
import type { ConsoleTap } from "../console/tap.js";
import type { Logger } from "../logger.js";
import { settle } from "./settle.js";
import { topicOf } from "./topics.js";
import type { UserSockets } from "./user-sockets.js";
import type { WatchAnswers } from "./watch-answers.js";

/** What sign-in, sign-out and watchlists use. */
export interface SigninServices {
  readonly log: Logger;
  readonly tap: ConsoleTap;
  /** This node's sockets of each signed-in user. */
  readonly users: UserSockets;
  readonly onlineUsers: OnlineUsers;
  readonly broker: Broker;
  /** Which watched users this node's sockets heard of while their question was answered. */
  readonly watchAnswers: WatchAnswers;
}

type Signin = Extract<ClientFrame, { kind: "signin" }>;

export function signIn(ctx: SigninServices, ws: PusherSocket, app: App, request: Signin): void {
  const connection = ws.getUserData();
  if (!verifyUserAuth(request.auth, app, connection.socketId, request.userData)) {
    return refuse(ws, "Invalid signature for pusher:signin: the auth must be \"<app key>:<HMAC-SHA256 of socket_id::user::user_data>\" signed with this app's secret.");
  }
  const parsed = parseUserData(request.userData);
  if (!parsed.ok) return refuse(ws, parsed.message);
  const { user } = parsed;

  if (connection.user) {
    if (connection.user.id !== user.id) {
      ws.send(frames.pusherError(ErrorCode.FrameRejected, `This connection is signed in as user ${connection.user.id} and cannot sign in as another user.`));
      return;
    }
    // Signing in again as the same user changes nothing but is answered, so the client's promise settles.
    ws.send(frames.signinSuccess(request.userData));
    return;
  }

  connection.user = user;
  connection.signinDeadline = 0;
  ws.send(frames.signinSuccess(request.userData));
  if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "signin", socketId: connection.socketId, userId: user.id });
  if (ctx.users.add(app.id, user.id, ws)) {
    settle(ctx.log, ctx.onlineUsers.cameOnline(app, user.id), (online) => {
      if (online && !ctx.onlineUsers.inOrder) announcePresence(ctx.broker, app, user.id, "online");
    });
  }
  watch(ctx, ws, app, user);
}

/** Call when a socket closes; its watchers hear "offline" if it was the user's last socket anywhere. */
export function signOut(ctx: SigninServices, ws: PusherSocket, app: App, user: SignedInUser): void {
  if (ctx.users.remove(app.id, user.id, ws)) {
    settle(ctx.log, ctx.onlineUsers.wentOffline(app, user.id), (offline) => {
      if (offline && !ctx.onlineUsers.inOrder) announcePresence(ctx.broker, app, user.id, "offline");
    });
  }
}

/** Tells the users watching `userId`, on every node, that it came online or went offline. */
export function announcePresence(broker: Broker, app: App, userId: string, name: "online" | "offline"): void {
  broker.publish({ appId: app.id, channel: watchersChannel(userId), frame: frames.watchlistEvents(name, [userId]) });
}

/** Listens for the watched users coming and going, and says which of them are online now. */
function watch(ctx: SigninServices, ws: PusherSocket, app: App, user: SignedInUser): void {
  const { watchlist } = user;
  if (watchlist.length === 0) return;
  if (watchlist.length > MAX_WATCHLIST_LENGTH) {
    ws.send(frames.pusherError(ErrorCode.WatchlistTooLong, `The watchlist has ${watchlist.length} users; at most ${MAX_WATCHLIST_LENGTH} are allowed, so no watchlist events will be sent.`));
    return;
  }
  for (const userId of watchlist) ws.subscribe(topicOf(app.id, watchersChannel(userId)));
  const connection = ws.getUserData();
  const online = ctx.onlineUsers.online(app, watchlist);
  settle(ctx.log, online instanceof Promise ? ctx.watchAnswers.unheard(app.id, online) : online, (unheard) => {
    if (unheard.length > 0 && connection.open) ws.send(frames.watchlistEvents("online", unheard));
  });
}

/** A sign-in that fails closes the connection with 4009, as Pusher does; pusher-js does not retry it. */
function refuse(ws: PusherSocket, message: string): void {
  closeConnection(ws, Closes.signinFailed(message));
}
