/**
 * What nodes send each other over Redis pub/sub: a line-based envelope, so that a
 * receiving node finds the fields with three indexOf calls and hands the frame,
 * the last field, to uWebSockets.js without parsing it. App ids may hold any
 * character, so they travel in the Redis channel name, never in the envelope.
 * Channel names, socket ids and node ids cannot hold a newline; user ids are
 * checked by the sender.
 */
import type { ChannelMessage } from "./cluster.js";

export type WireMessage =
  | { kind: "channel"; origin: string; channel: string; exceptSocketId: string | undefined; frame: string }
  | { kind: "terminate-user"; origin: string; userId: string }
  | { kind: "console-entry"; origin: string; entryJson: string }
  | { kind: "console-watch"; origin: string };

export function encodeChannelMessage(origin: string, { channel, exceptSocketId, frame }: ChannelMessage): string {
  return `m\n${origin}\n${channel}\n${exceptSocketId ?? ""}\n${frame}`;
}

export function encodeTerminateUser(origin: string, userId: string): string {
  return `t\n${origin}\n${userId}`;
}

/** A console entry of the app whose channel carries it. */
export function encodeConsoleEntry(origin: string, entryJson: string): string {
  return `c\n${origin}\n${entryJson}`;
}

/** "A console on this node watches the app whose channel carries this." */
export function encodeConsoleWatch(origin: string): string {
  return `w\n${origin}\n`;
}

/** Returns null for anything that is not an envelope of this version. */
export function decodeWireMessage(text: string): WireMessage | null {
  const originEnd = text.indexOf("\n", 2);
  if (originEnd < 0) return null;
  const origin = text.slice(2, originEnd);
  if (text.startsWith("t\n")) return { kind: "terminate-user", origin, userId: text.slice(originEnd + 1) };
  if (text.startsWith("c\n")) return { kind: "console-entry", origin, entryJson: text.slice(originEnd + 1) };
  if (text.startsWith("w\n")) return { kind: "console-watch", origin };
  if (!text.startsWith("m\n")) return null;
  const channelEnd = text.indexOf("\n", originEnd + 1);
  const exceptEnd = channelEnd < 0 ? -1 : text.indexOf("\n", channelEnd + 1);
  if (exceptEnd < 0) return null;
  const except = text.slice(channelEnd + 1, exceptEnd);
  return {
    kind: "channel",
    origin,
    channel: text.slice(originEnd + 1, channelEnd),
    exceptSocketId: except === "" ? undefined : except,
    frame: text.slice(exceptEnd + 1),
  };
}
