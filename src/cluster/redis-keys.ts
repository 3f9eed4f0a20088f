/**
 * Every Redis key and channel Herald uses, built here and nowhere else. An app's
 * keys share its `{app}` hash tag, so each script touches one slot of a Redis
 * Cluster; a node's own sets (`herald:node:{node}:…`) record what it holds, so the
 * survivors can undo it when the node dies. The README's key table lists these.
 */

/** Node numbers handed out so far: socket ids are `<node>.<n>`. */
export const NODE_NUMBER_KEY = "herald:node-number";
/** Sorted set of live nodes, scored with the Redis TIME of their last heartbeat. */
export const NODES_KEY = "herald:nodes";
/** Pub/sub: one channel per app carries its messages (and console entries) between nodes. */
export const APP_CHANNEL_PREFIX = "herald:app:";

export function appChannel(appId: string): string {
  return APP_CHANNEL_PREFIX + appId;
}

/**
 * String: a random value the first node writes. Gone or changed after an outage, Redis
 * lost the app's data meanwhile (per app: on a Redis Cluster, a shard restarts alone).
 */
export function generationKey(appId: string): string {
  return `herald:{${appId}}:generation`;
}

/** Hash: node → that node's open connections of the app. */
export function connectionsKey(appId: string): string {
  return `herald:{${appId}}:connections`;
}

/** Hash: node → that node's subscribers of the channel. With channel "", the start of every such key of the app. */
export function subsKey(appId: string, channel: string): string {
  return `herald:{${appId}}:subs:${channel}`;
}

/** Set: the app's channels with a subscriber on some node. */
export function occupiedKey(appId: string): string {
  return `herald:{${appId}}:occupied`;
}

/** The node that saw the channel empty, held 3 s before channel_vacated. */
export function vacatingKey(appId: string, channel: string): string {
  return `herald:{${appId}}:vacating:${channel}`;
}

/**
 * Set by the script that made an arrival (channel_occupied, member_added) or confirmed a
 * departure, under a token unique to that write: its node reads it back (and deletes it)
 * when the answer did not come (Redis went away meanwhile), to report what it did once.
 */
export function answerKey(appId: string, token: string): string {
  return `herald:{${appId}}:answer:${token}`;
}

/** Hash: user id → user_info (JSON) of a presence channel's members. */
export function membersKey(appId: string, channel: string): string {
  return `herald:{${appId}}:members:${channel}`;
}

/** Set: the nodes with a socket of the user in the presence channel. */
export function memberNodesKey(appId: string, channel: string, userId: string): string {
  return `${memberNodesPrefix(appId)}${channel}:${userId}`;
}

/** The start of every memberNodesKey of the app. */
export function memberNodesPrefix(appId: string): string {
  return `herald:{${appId}}:member-nodes:`;
}

/** The node that saw the user leave the presence channel, held 3 s before member_removed. */
export function leavingKey(appId: string, channel: string, userId: string): string {
  return `herald:{${appId}}:leaving:${channel}:${userId}`;
}

/** Set: the nodes with a signed-in socket of the user (watchlists). With user "", the start of every such key of the app. */
export function userNodesKey(appId: string, userId: string): string {
  return `herald:{${appId}}:user-nodes:${userId}`;
}

/** The last event of a cache channel, with its TTL. */
export function cacheKey(appId: string, channel: string): string {
  return `herald:{${appId}}:cache:${channel}`;
}

/** List: the events kept for a vacant channel, oldest first, each "<expires at ms>\n<frame>". With channel "", the start of every such key of the app. */
export function bufferKey(appId: string, channel: string): string {
  return `herald:{${appId}}:buffer:${channel}`;
}

/** Sorted set: the app's buffered channels, scored with their last write (ms), for its channel cap. */
export function bufferedChannelsKey(appId: string): string {
  return `herald:{${appId}}:buffered`;
}

/** Set: "app\nchannel" entries this node has counted. */
export function nodeChannelsKey(nodeId: string): string {
  return `herald:node:${nodeId}:channels`;
}

/** Set: "app\nchannel\nuser" presence members this node holds. */
export function nodeMembersKey(nodeId: string): string {
  return `herald:node:${nodeId}:members`;
}

/** Set: "app\nuser" users signed in on this node. */
export function nodeUsersKey(nodeId: string): string {
  return `herald:node:${nodeId}:users`;
}
