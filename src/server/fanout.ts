import type { ChannelMessage } from "../cluster/cluster.js";
import type { NodeCounters } from "../metrics/counters.js";
import type { SessionTopics } from "./http-transport/session-topics.js";
import type { TemplatedApp } from "./uws.js";
import type { SocketRegistry } from "./socket-registry.js";
import { topicOf } from "./topics.js";
import type { WatchAnswers } from "./watch-answers.js";

/**
 * Hands a message to this node's subscribers through the native topic, so C++
 * walks the subscribers. Exclusion publishes through the excluded socket, which
 * uWS skips; uWS only does that for a socket that is itself subscribed, so an
 * excluded socket elsewhere (or not in the channel) means a plain publish.
 * HTTP-transport sessions of the topic, if the node has any, get it after. While a
 * socket waits to hear which of its watched users are online, `watches` notes whom
 * it hears of meanwhile.
 */
export function localFanout(uwsApp: TemplatedApp, sockets: SocketRegistry, counters: NodeCounters, sessions: SessionTopics, watches: WatchAnswers): (message: ChannelMessage) => void {
  return ({ appId, channel, frame, exceptSocketId }) => {
    // No connection here, nobody to hand it to. It is also what keeps the process up while it
    // starts: a uWS 20.30 app has no topic tree before its first WebSocket route, and
    // numSubscribers or publish on it then crash the process (SIGSEGV), yet a node joining a
    // busy cluster hears the other nodes' messages before its routes are mounted.
    if (sockets.size === 0) return;
    const topic = topicOf(appId, channel);
    const onSockets = uwsApp.numSubscribers(topic);
    const onSessions = sessions.size === 0 ? 0 : sessions.count(topic);
    if (onSockets + onSessions === 0) return;
    if (watches.waiting) watches.delivered(appId, channel);
    const excluded = exceptSocketId === undefined ? undefined : sockets.get(exceptSocketId);
    let recipients = 0;
    if (onSockets > 0) {
      // A session is never a uWS subscriber: excluding one is a plain publish to the WebSockets.
      if (excluded !== undefined && excluded.isSubscribed(topic) && !excluded.isSession) {
        excluded.publish(topic, frame);
        recipients += onSockets - 1;
      } else {
        uwsApp.publish(topic, frame);
        recipients += onSockets;
      }
    }
    if (onSessions > 0) recipients += sessions.deliver(topic, frame, excluded);
    // Counted as handed to uWS; a socket over its backpressure limit drops the frame and is closed.
    const appCounters = counters.of(appId);
    appCounters.messagesSent += recipients;
    appCounters.bytesSent += recipients * Buffer.byteLength(frame);
  };
}
