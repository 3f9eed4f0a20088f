/**
 * What this node hands the cluster layer (ClusterParts): its local fan-out and
 * users, and what it does with the cluster's events, which go to webhooks, to
 * the consoles watching the app, and to the subscribers as presence and
 * watchlist frames.
 */
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { Broker, ClusterEvents, ClusterParts } from "../cluster/cluster.js";
import type { ConsoleTap } from "../console/tap.js";
import type { NodeCounters } from "../metrics/counters.js";
import type { WebhookAttempts } from "../webhooks/http-post.js";
import type { Webhooks } from "../webhooks/webhooks.js";
import { localFanout } from "./fanout.js";
import { announcePresence } from "./signin.js";
import type { SocketRegistry } from "./socket-registry.js";
import { announceMemberAdded, announceMemberRemoved } from "./subscriptions.js";
import type { UserSockets } from "./user-sockets.js";
import type { VacantChannels } from "./vacant-channels.js";
import type { WatchAnswers } from "./watch-answers.js";
import type { SessionTopics } from "./http-transport/session-topics.js";
import type { TemplatedApp } from "./uws.js";

export interface NodeParts {
  readonly uwsApp: TemplatedApp;
  readonly sockets: SocketRegistry;
  readonly users: UserSockets;
  readonly channels: ChannelDirectory;
  readonly counters: NodeCounters;
  readonly webhooks: Webhooks;
  readonly tap: ConsoleTap;
  /**
   * The broker the announcements go through. It is built by the cluster these
   * parts are handed to, so it is asked for when an event comes, not before.
   */
  readonly broker: () => Broker;
  /** Holds a channel's live frames while its kept events are handed over. */
  readonly vacant: VacantChannels;
  /** The HTTP-transport sessions' topics, which the fan-out serves after the engine's. */
  readonly sessionTopics: SessionTopics;
  /** Told of the watchlist announcements delivered while a socket waits for its first `online`. */
  readonly watchAnswers: WatchAnswers;
}

export function clusterParts(node: NodeParts): ClusterParts {
  const { sockets, users, webhooks, tap } = node;
  return {
    local: {
      deliver: node.vacant.holdingFanout(localFanout(node.uwsApp, sockets, node.counters, node.sessionTopics, node.watchAnswers)),
      terminateUser: (appId, userId) => users.terminate(appId, userId),
      signedInUsers: () => users.signedIn(),
      hasUser: (appId, userId) => users.has(appId, userId),
      connections: (appId) => sockets.connectionsOf(appId),
    },
    channels: node.channels,
    consoles: tap,
    events: clusterEvents(webhooks, tap, node.broker),
    bufferDrops: (appId, reason, count) => (node.counters.of(appId).bufferDropped[reason] += count),
  };
}

function clusterEvents(webhooks: Webhooks, tap: ConsoleTap, broker: () => Broker): ClusterEvents {
  return {
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
    memberCame: (app, channel, userId, userInfo) => announceMemberAdded(broker(), app, channel, userId, userInfo),
    memberGone: (app, channel, userId) => announceMemberRemoved(broker(), app, channel, userId),
    userCame: (app, userId) => announcePresence(broker(), app, userId, "online"),
    userGone: (app, userId) => announcePresence(broker(), app, userId, "offline"),
  };
}

/** Every webhook request, for the consoles watching its app. */
export function tapWebhookAttempts(tap: ConsoleTap): WebhookAttempts {
  return (appId, url, attempt, events, result) => {
    if (!tap.watching(appId)) return;
    const detail = `${url} (${events} event${events === 1 ? "" : "s"})`;
    if (result.ok) tap.emit(appId, { type: "webhook_sent", detail, status: result.status, attempt });
    else tap.emit(appId, { type: "webhook_failed", detail: `${detail}: ${result.reason}`, status: result.status, attempt });
  };
}
