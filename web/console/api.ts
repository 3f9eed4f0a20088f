/** The console's calls to Herald's ops listener, with the token of this tab. */
import type { ChannelRow, FeedControl, StatsSample, TapEntry } from "../../src/console/wire.js";

export type { ChannelRow, FeedControl, StatsSample };

/** A log entry, numbered by the page as it arrives. */
export type Entry = TapEntry & { seq?: number };

const TOKEN_KEY = "herald-console-token";

export function savedToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export class Unauthorized extends Error {}

export async function call<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const token = savedToken();
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`/console/api${path}`, { ...init, headers, cache: "no-store" });
  const body = (await response.json()) as T & { error?: string };
  if (response.status === 401 || response.status === 403) throw new Unauthorized(body.error ?? "Not allowed.");
  return { status: response.status, body };
}

export interface AppSummary {
  id: string;
  key: string;
  enabled: boolean;
}

export function openFeed(onMessage: (message: Entry | FeedControl) => void, onClose: (reason: string) => void): WebSocket {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/console/api/feed`);
  socket.onopen = () => socket.send(JSON.stringify({ token: savedToken() }));
  socket.onmessage = (event) => onMessage(JSON.parse(String(event.data)) as Entry | FeedControl);
  socket.onclose = (event) => onClose(event.reason || `closed (${event.code})`);
  return socket;
}
