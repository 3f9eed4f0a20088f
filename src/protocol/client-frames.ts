/**
 * Parsing of the frames a client sends. Every input, however malformed, becomes
 * either a typed frame or a rejection with a message a person can act on.
 */

export type ClientFrame =
  | { kind: "ping" }
  | { kind: "pong" }
  | { kind: "subscribe"; channel: string; auth: string; channelData: string | undefined }
  | { kind: "unsubscribe"; channel: string }
  | { kind: "signin"; auth: string; userData: string }
  | { kind: "client-event"; event: string; channel: string; data: unknown };

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; message: string };

const reject = (message: string): ParsedFrame => ({ ok: false, message });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** pusher-js sends `data` as an object; some older clients send it JSON-encoded. */
function dataRecord(data: unknown): Record<string, unknown> | null {
  if (isRecord(data)) return data;
  if (typeof data !== "string") return null;
  try {
    const parsed: unknown = JSON.parse(data);
    return isRecord(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export function parseClientFrame(text: string): ParsedFrame {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return reject("The frame is not valid JSON; send a JSON object such as {\"event\":\"pusher:ping\",\"data\":{}}.");
  }
  if (!isRecord(message)) return reject("The frame must be a JSON object with an \"event\" field.");
  const event = message.event;
  if (typeof event !== "string" || event.length === 0) {
    return reject("The frame has no \"event\" string.");
  }

  switch (event) {
    case "pusher:ping":
      return { ok: true, frame: { kind: "ping" } };
    case "pusher:pong":
      return { ok: true, frame: { kind: "pong" } };
    case "pusher:subscribe":
      return parseSubscribe(message.data);
    case "pusher:unsubscribe": {
      const data = dataRecord(message.data);
      if (!data || typeof data.channel !== "string") {
        return reject("pusher:unsubscribe needs data {\"channel\": \"<name>\"}.");
      }
      return { ok: true, frame: { kind: "unsubscribe", channel: data.channel } };
    }
    case "pusher:signin": {
      const data = dataRecord(message.data);
      if (!data || typeof data.auth !== "string" || typeof data.user_data !== "string") {
        return reject("pusher:signin needs data {\"auth\": \"<key>:<signature>\", \"user_data\": \"<JSON string>\"} as your user-auth endpoint returns them.");
      }
      return { ok: true, frame: { kind: "signin", auth: data.auth, userData: data.user_data } };
    }
  }

  if (event.startsWith("client-")) {
    if (typeof message.channel !== "string") {
      return reject(`The client event ${event} has no "channel" string.`);
    }
    return { ok: true, frame: { kind: "client-event", event, channel: message.channel, data: message.data } };
  }
  return reject(`Unknown event "${event.slice(0, 100)}"; client events must start with "client-".`);
}

function parseSubscribe(rawData: unknown): ParsedFrame {
  const data = dataRecord(rawData);
  if (!data) return reject("pusher:subscribe needs data {\"channel\": \"<name>\", \"auth\": \"...\"}.");
  if (typeof data.channel !== "string") return reject("pusher:subscribe needs a \"channel\" string.");
  const auth = data.auth ?? "";
  if (typeof auth !== "string") return reject("The \"auth\" of pusher:subscribe must be a string.");
  // pusher-js passes on whatever the auth endpoint returned; it treats a null channel_data as none, and so does Herald.
  const channelData = data.channel_data ?? undefined;
  if (channelData !== undefined && typeof channelData !== "string") {
    return reject("The \"channel_data\" of pusher:subscribe must be a JSON-encoded string.");
  }
  return { ok: true, frame: { kind: "subscribe", channel: data.channel, auth, channelData } };
}

/** A presence member as announced in `channel_data`. */
export interface PresenceMember {
  userId: string;
  userInfo: unknown;
}

export type ParsedChannelData = { ok: true; member: PresenceMember } | { ok: false; message: string };

const MAX_USER_ID_LENGTH = 128;

/**
 * Reads presence `channel_data`: a JSON string with `user_id` (string or number,
 * which Laravel sends for integer keys) and optional `user_info`.
 */
export function parseChannelData(channelData: string): ParsedChannelData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(channelData);
  } catch {
    return { ok: false, message: "channel_data is not valid JSON." };
  }
  if (!isRecord(parsed)) return { ok: false, message: "channel_data must be a JSON object with a user_id." };
  const rawId = parsed.user_id;
  const userId = typeof rawId === "number" && Number.isFinite(rawId) ? String(rawId) : rawId;
  if (typeof userId !== "string" || userId.length === 0) {
    return { ok: false, message: "channel_data has no user_id (a non-empty string or a number)." };
  }
  if (userId.length > MAX_USER_ID_LENGTH) {
    return { ok: false, message: `The user_id is longer than ${MAX_USER_ID_LENGTH} characters.` };
  }
  return { ok: true, member: { userId, userInfo: parsed.user_info } };
}
