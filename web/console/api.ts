/** The console's calls to Herald's ops listener, with the token of this tab. */

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

export interface Entry {
  /** Numbered by the page as entries arrive. */
  seq?: number;
  type: string;
  appId: string;
  time: number;
  node: string;
  socketId?: string;
  channel?: string;
  channels?: string[];
  event?: string;
  userId?: string;
  detail?: string;
  code?: number;
  status?: number;
  attempt?: number;
  origin?: string;
  transport?: string;
  payload?: string;
  payloadBytes?: number;
  exceptSocketId?: string;
}

export interface ChannelRow {
  name: string;
  subscriptionCount: number;
  userCount?: number;
  members?: Array<{ id: string; info: unknown }>;
}

export interface StatsSample {
  time: number;
  connections: number;
  messagesInPerSecond: number;
  messagesOutPerSecond: number;
  apiRequestsPerSecond: number;
  webhookQueue: number;
}

/** Feed messages that are not entries carry a `kind`. */
export type FeedControl =
  | { kind: "hello"; node: string }
  | { kind: "watching"; app: string }
  | { kind: "dropped"; count: number }
  | { kind: "paused"; paused: boolean }
  | { kind: "error"; message: string };

export function openFeed(onMessage: (message: Entry | FeedControl) => void, onClose: (reason: string) => void): WebSocket {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/console/api/feed`);
  socket.onopen = () => socket.send(JSON.stringify({ token: savedToken() }));
  socket.onmessage = (event) => onMessage(JSON.parse(String(event.data)) as Entry | FeedControl);
  socket.onclose = (event) => onClose(event.reason || `closed (${event.code})`);
  return socket;
}
