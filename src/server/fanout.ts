import type { ChannelMessage } from "../cluster/broker.js";
import type { TemplatedApp } from "./uws.js";
import type { SocketRegistry } from "./socket-registry.js";
import { topicOf } from "./topics.js";

/**
 * Hands a message to this node's subscribers through the native topic, so C++
 * walks the subscribers. Exclusion publishes through the excluded socket, which
 * uWS skips; uWS only does that for a socket that is itself subscribed, so an
 * excluded socket elsewhere (or not in the channel) means a plain publish.
 */
export function localFanout(uwsApp: TemplatedApp, sockets: SocketRegistry): (message: ChannelMessage) => void {
  return ({ appId, channel, frame, exceptSocketId }) => {
    const topic = topicOf(appId, channel);
    const excluded = exceptSocketId === undefined ? undefined : sockets.get(exceptSocketId);
    if (excluded !== undefined && excluded.isSubscribed(topic)) excluded.publish(topic, frame);
    else uwsApp.publish(topic, frame);
  };
}
