import type { ChannelMessage } from "../cluster/cluster.js";
import type { NodeCounters } from "../metrics/counters.js";
import type { TemplatedApp } from "./uws.js";
import type { SocketRegistry } from "./socket-registry.js";
import { topicOf } from "./topics.js";

/**
 * Hands a message to this node's subscribers through the native topic, so C++
 * walks the subscribers. Exclusion publishes through the excluded socket, which
 * uWS skips; uWS only does that for a socket that is itself subscribed, so an
 * excluded socket elsewhere (or not in the channel) means a plain publish.
 */
export function localFanout(uwsApp: TemplatedApp, sockets: SocketRegistry, counters: NodeCounters): (message: ChannelMessage) => void {
  return ({ appId, channel, frame, exceptSocketId }) => {
    const topic = topicOf(appId, channel);
    let recipients = uwsApp.numSubscribers(topic);
    if (recipients === 0) return;
    const excluded = exceptSocketId === undefined ? undefined : sockets.get(exceptSocketId);
    if (excluded !== undefined && excluded.isSubscribed(topic)) {
      excluded.publish(topic, frame);
      recipients -= 1;
    } else uwsApp.publish(topic, frame);
    // Counted as handed to uWS; a socket over its backpressure limit drops the frame and is closed.
    const appCounters = counters.of(appId);
    appCounters.messagesSent += recipients;
    appCounters.bytesSent += recipients * Buffer.byteLength(frame);
  };
}
