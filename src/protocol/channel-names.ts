/** The kinds of channel the Pusher protocol distinguishes by name prefix. */
export type ChannelKind = "public" | "private" | "presence" | "encrypted" | "server-to-user";

const CHANNEL_NAME = /^#?[-a-zA-Z0-9_=@,.;]+$/;

export function channelKind(name: string): ChannelKind {
  if (name.startsWith("private-encrypted-")) return "encrypted";
  if (name.startsWith("private-")) return "private";
  if (name.startsWith("presence-")) return "presence";
  if (name.startsWith("#server-to-user-")) return "server-to-user";
  return "public";
}

const CACHE_PREFIXES = ["cache-", "private-cache-", "presence-cache-", "private-encrypted-cache-"];

/** Cache channels keep the last event published to them and replay it to each new subscriber. */
export function isCacheChannel(name: string): boolean {
  return name.includes("cache-") && CACHE_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** Private, presence and encrypted channels need a signature from the app's auth endpoint. */
export function requiresAuth(kind: ChannelKind): boolean {
  return kind === "private" || kind === "presence" || kind === "encrypted";
}

/**
 * Why a channel name is unacceptable, or null when it is fine. `#` names are
 * reserved for channels the server creates (`#server-to-user-…`).
 */
export function channelNameProblem(name: string, maxLength: number): string | null {
  if (name.length === 0) return "The channel name is empty.";
  if (name.length > maxLength) {
    return `The channel name is ${name.length} characters long; this app allows at most ${maxLength}.`;
  }
  if (!CHANNEL_NAME.test(name)) {
    return `The channel name "${name}" has characters outside a-z, A-Z, 0-9 and -_=@,.; .`;
  }
  return null;
}
