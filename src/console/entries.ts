/**
 * What the console's live log shows: one entry per thing that happened to an app,
 * in the words of Pusher's Debug Console. Entries are plain JSON, encoded once and
 * sent as they are to every console watching the app, on any node.
 */
import type { TapEvent } from "./wire.js";

/** Payloads are shown up to this many characters: enough to read, never a flood. */
export const PAYLOAD_PREVIEW_CHARS = 2048;

/** The payload fields of an entry: a preview of at most PAYLOAD_PREVIEW_CHARS, and the full size. */
export function payloadFields(data: string): Pick<TapEvent, "payload" | "payloadBytes"> {
  return { payload: data.length > PAYLOAD_PREVIEW_CHARS ? data.slice(0, PAYLOAD_PREVIEW_CHARS) : data, payloadBytes: Buffer.byteLength(data) };
}

const CLOSE_MEANINGS: Record<number, string> = {
  1000: "closed normally by the client",
  1001: "the client went away (page closed or navigated)",
  1005: "closed without a code",
  1006: "dropped without a close frame (network, or a frame over --max-frame-kb)",
  4001: "no app has this key, or the app's key changed",
  4003: "the app is disabled",
  4004: "the app is at its maxConnections",
  4007: "unsupported protocol version",
  4009: "unauthorized: origin not allowed, failed or missing sign-in, or terminate_connections",
  4100: "over capacity: the server's --max-connections, or too slow to keep up with its messages",
  4200: "the server is shutting down; the client reconnects at once",
  4201: "did not answer a ping in time",
};

/** A close code in words, for the console. */
export function closeMeaning(code: number): string {
  return CLOSE_MEANINGS[code] ?? (code >= 4000 && code < 5000 ? "closed by the application" : "closed");
}
