/**
 * Validation of the events posted to `POST events` and `POST batch_events`,
 * against an app's limits. Pure: the caller publishes what passes.
 */
import { channelNameProblem } from "./channel-names.js";
import { SOCKET_ID } from "./socket-ids.js";

export interface EventLimits {
  readonly maxChannelNameLength: number;
  readonly maxEventChannelsAtOnce: number;
  readonly maxEventNameLength: number;
  readonly maxEventPayloadInKb: number;
}

export interface TriggeredEvent {
  name: string;
  /** The event data exactly as posted: a string, relayed untouched. */
  data: string;
  channels: string[];
  /** The socket that must not receive the event (Laravel's `toOthers()`). */
  socketId: string | undefined;
  /** Counts to answer with (`info=user_count,subscription_count`); empty for none. */
  info: ReadonlySet<string>;
}

const NO_INFO: ReadonlySet<string> = new Set();

export type EventCheck = { ok: true; event: TriggeredEvent } | { ok: false; status: 400 | 413; message: string };

const bad = (message: string): EventCheck => ({ ok: false, status: 400, message });

/** `where` prefixes messages, e.g. "batch[3]: ", so a batch error points at its event. */
export function readEvent(raw: unknown, limits: EventLimits, where = ""): EventCheck {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return bad(`${where}the event must be a JSON object.`);
  const body = raw as Record<string, unknown>;

  const { name } = body;
  if (typeof name !== "string" || name.length === 0) return bad(`${where}"name" must be a non-empty string.`);
  if (name.length > limits.maxEventNameLength) {
    return bad(`${where}the event name is ${name.length} characters long; this app allows ${limits.maxEventNameLength}.`);
  }

  const { data } = body;
  if (typeof data !== "string") {
    return bad(`${where}"data" must be a string (JSON-encode objects first, as the Pusher SDKs do).`);
  }
  const dataBytes = Buffer.byteLength(data);
  if (dataBytes > limits.maxEventPayloadInKb * 1024) {
    return { ok: false, status: 413, message: `${where}"data" is ${dataBytes} bytes; this app allows ${limits.maxEventPayloadInKb} KB.` };
  }

  const channels = body.channels !== undefined ? body.channels : body.channel !== undefined ? [body.channel] : undefined;
  if (!Array.isArray(channels) || channels.length === 0) {
    return bad(`${where}give "channels" (a non-empty array of names) or "channel" (a name).`);
  }
  if (channels.length > limits.maxEventChannelsAtOnce) {
    return bad(`${where}the event names ${channels.length} channels; this app allows ${limits.maxEventChannelsAtOnce} at once.`);
  }
  for (const channel of channels) {
    if (typeof channel !== "string") return bad(`${where}every channel name must be a string.`);
    const problem = channelNameProblem(channel, limits.maxChannelNameLength);
    if (problem) return bad(`${where}${problem}`);
  }

  const socketId = body.socket_id;
  if (socketId !== undefined && (typeof socketId !== "string" || !SOCKET_ID.test(socketId))) {
    return bad(`${where}"socket_id" must look like "1234.5678".`);
  }
  const rawInfo = body.info;
  if (rawInfo !== undefined && typeof rawInfo !== "string") return bad(`${where}"info" must be a comma-separated string.`);
  const info = rawInfo ? new Set(rawInfo.split(",").map((attribute) => attribute.trim())) : NO_INFO;
  return { ok: true, event: { name, data, channels: channels as string[], socketId, info } };
}
