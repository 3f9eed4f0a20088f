/**
 * The clients users run against Herald: pusher-js (what Echo wraps), the
 * `pusher` server SDK (what a backend signs with), and a raw WebSocket for frames
 * no library would send.
 */
import PusherJs, { type ChannelAuthorizationCallback } from "pusher-js";
import PusherServer from "pusher";
import WebSocket from "ws";
import Echo from "laravel-echo";
import type { AppConfig } from "./herald.js";

// pusher-js declares ES exports over a CommonJS build: at run time the default
// import is the class itself, which the declarations call `.default`.
export const Pusher = PusherJs as unknown as typeof import("pusher-js").default;
export type Pusher = InstanceType<typeof Pusher>;

export function serverSdk(port: number, app: AppConfig, extra: Partial<PusherServer.Options> = {}): PusherServer {
  return new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host: "127.0.0.1", port: String(port), useTLS: false, ...extra });
}

/** The user_data a user-auth endpoint signs for `pusher:signin`. */
export interface UserData {
  id: string;
  user_info?: unknown;
  watchlist?: string[];
}

/** A presence identity, as an auth endpoint passes it to `authorizeChannel`. */
export interface PresenceUser {
  user_id: string | number;
  user_info?: unknown;
}

export interface ChannelAuthOptions {
  /** The presence identity. */
  user?: PresenceUser;
  /** The backend that signs; by default one built from the app. */
  authorizer?: PusherServer;
  /**
   * Sign every channel the presence way, with `user` as channel_data, as
   * pusher-js's own integration auth server and some backends do.
   */
  channelDataOnEveryChannel?: boolean;
}

/** What an auth endpoint answers for a channel, signed by the server SDK. */
function channelAuthorization(sdk: PusherServer, options: ChannelAuthOptions, socketId: string, channelName: string) {
  const withData = options.channelDataOnEveryChannel || channelName.startsWith("presence-");
  const data = withData ? (options.user as PusherServer.PresenceChannelData | undefined) : undefined;
  return sdk.authorizeChannel(socketId, channelName, data) as Parameters<ChannelAuthorizationCallback>[1];
}

/**
 * A pusher-js client whose channel authorization is done by the server SDK, as a
 * Laravel backend's /broadcasting/auth would. `user` is the presence identity;
 * `signinAs` is what the user-auth endpoint answers `signin()` with.
 */
export function pusherClient(
  port: number,
  app: AppConfig,
  options: ChannelAuthOptions & { signinAs?: UserData; transport?: "xhr_streaming" | "xhr_polling"; httpPath?: string } = {},
): Pusher {
  const sdk = options.authorizer ?? serverSdk(port, app);
  return new Pusher(app.key, {
    cluster: "mt1",
    wsHost: "127.0.0.1",
    wsPort: port,
    // pusher-js's HTTP fallback, forced: its own options, which do not default to wsHost.
    httpHost: "127.0.0.1",
    httpPort: port,
    httpPath: options.httpPath ?? "/pusher",
    forceTLS: false,
    enabledTransports: [options.transport ?? "ws"],
    disableStats: true,
    channelAuthorization: {
      endpoint: "/broadcasting/auth",
      transport: "ajax",
      customHandler: ({ socketId, channelName }, callback) => {
        try {
          callback(null, channelAuthorization(sdk, options, socketId, channelName));
        } catch (error) {
          callback(error as Error, null);
        }
      },
    },
    userAuthentication: {
      endpoint: "/broadcasting/user-auth",
      transport: "ajax",
      customHandler: ({ socketId }, callback) => {
        if (!options.signinAs) return callback(new Error("this test client has no user to sign in as"), null);
        callback(null, sdk.authenticateUser(socketId, options.signinAs));
      },
    },
  });
}

export function connected(client: Pusher): Promise<string> {
  return new Promise((resolve) => {
    if (client.connection.state === "connected") return resolve(client.connection.socket_id);
    client.connection.bind("connected", () => resolve(client.connection.socket_id));
  });
}

/**
 * Sends pusher:ping and waits for the pong. The server answers a socket's frames in
 * order and writes what it sends a socket in order, so once the pong is here, every
 * frame the server sent this client for anything it had already handled is here too:
 * the marker that proves an absence without sleeping.
 */
export function caughtUp(client: Pusher, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no pusher:pong within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: { event: string }) => {
      if (message.event !== "pusher:pong") return;
      clearTimeout(timer);
      client.connection.unbind("message", onMessage);
      resolve();
    };
    client.connection.bind("message", onMessage);
    client.connection.send_event("pusher:ping", {});
  });
}

/**
 * pusher-js's `disconnect()`, resolved once the server has answered the close: it
 * runs its close handler before it answers, so what that handler sends other
 * sockets (member_removed, watchlist offline) is on its way before this resolves.
 */
export function disconnected(client: Pusher): Promise<void> {
  // pusher-js keeps the WebSocket three levels down and forgets it on disconnect.
  const socket = (client.connection as unknown as { connection?: { transport?: { socket?: EventTarget } } }).connection?.transport?.socket;
  if (!socket) throw new Error("this client has no open socket to close");
  const closed = new Promise<void>((resolve) => socket.addEventListener("close", () => resolve()));
  client.disconnect();
  return closed;
}

export function subscribed(client: Pusher, channelName: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const channel = client.subscribe(channelName);
    channel.bind("pusher:subscription_succeeded", resolve);
    channel.bind("pusher:subscription_error", reject);
  });
}

/** A raw WebSocket that records every frame it receives, parsed. */
export class RawClient {
  readonly frames: Array<{ event: string; channel?: string; data?: unknown; user_id?: string }> = [];
  closeCode: number | undefined;
  readonly ws: WebSocket;
  private readonly opened: Promise<void>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on("message", (data) => this.frames.push(JSON.parse(String(data))));
    this.ws.on("close", (code) => (this.closeCode = code));
    this.ws.on("error", () => undefined);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
  }

  static async connect(port: number, key = "app-key", query = "?protocol=7&client=js&version=8.4.0", options?: WebSocket.ClientOptions, prefix = ""): Promise<RawClient> {
    const client = new RawClient(`ws://127.0.0.1:${port}${prefix}/app/${key}${query}`, options);
    await client.opened;
    return client;
  }

  /** A raw socket of the app with `key`, subscribed to `channel` (public unless `auth` is given). */
  static async subscribed(port: number, channel: string, key = "app-key", auth?: string): Promise<RawClient> {
    const client = await RawClient.connect(port, key);
    await client.socketId();
    client.send({ event: "pusher:subscribe", data: auth === undefined ? { channel } : { channel, auth } });
    await client.event("pusher_internal:subscription_succeeded");
    return client;
  }

  /** Waits for pusher:connection_established and returns the socket_id it carries. */
  async socketId(): Promise<string> {
    const established = await this.event("pusher:connection_established");
    return (JSON.parse(established.data as string) as { socket_id: string }).socket_id;
  }

  /** Sends pusher:ping and waits for its pong; see `caughtUp()` for why that proves an absence. */
  async caughtUp(): Promise<void> {
    this.send({ event: "pusher:ping", data: {} });
    await this.event("pusher:pong");
  }

  /** Closes and waits for the server's answer: its close handler has run by then. */
  async closedByUs(): Promise<void> {
    this.ws.close();
    await this.closed();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Waits for the first not-yet-consumed frame matching `predicate`. */
  async next(predicate: (frame: RawClient["frames"][number]) => boolean, timeoutMs = 3000): Promise<RawClient["frames"][number]> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.frames.find(predicate);
      if (found) {
        this.frames.splice(this.frames.indexOf(found), 1);
        return found;
      }
      await sleep(5);
    }
    const closed = this.closeCode === undefined ? "" : ` (the socket was closed with ${this.closeCode})`;
    throw new Error(`no matching frame within ${timeoutMs} ms${closed}; received: ${JSON.stringify(this.frames)}`);
  }

  event(event: string, timeoutMs?: number) {
    return this.next((frame) => frame.event === event, timeoutMs);
  }

  async closed(timeoutMs = 3000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === undefined && Date.now() < deadline) await sleep(5);
    if (this.closeCode === undefined) throw new Error("socket did not close");
    return this.closeCode;
  }

  close(): void {
    this.ws.close();
  }
}

/** Calls pusher-js `signin()` and resolves once the user's #server-to-user channel is subscribed. */
export async function signedIn(client: Pusher, timeoutMs = 3000): Promise<void> {
  client.signin();
  const deadline = Date.now() + timeoutMs;
  while (!client.user.serverToUserChannel?.subscribed) {
    if (Date.now() > deadline) throw new Error("the client did not sign in");
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with the arguments of the next call of the returned callback. */
export function nextCall<T = unknown>(timeoutMs = 3000): { callback: (value: T) => void; promise: Promise<T> } {
  let callback!: (value: T) => void;
  const promise = new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not called within ${timeoutMs} ms`)), timeoutMs);
    callback = (value) => {
      clearTimeout(timer);
      resolve(value);
    };
  });
  return { callback, promise };
}

/**
 * Laravel Echo configured as a Vue app would configure it for Herald, with
 * channel authorization answered by the server SDK in place of /broadcasting/auth.
 */
export function echoClient(port: number, app: AppConfig, options: ChannelAuthOptions & { broadcaster?: "pusher" | "reverb" } = {}): Echo<"pusher"> {
  const sdk = options.authorizer ?? serverSdk(port, app);
  return new Echo({
    broadcaster: (options.broadcaster ?? "pusher") as "pusher",
    key: app.key,
    cluster: "mt1",
    wsHost: "127.0.0.1",
    wsPort: port,
    wssPort: port,
    forceTLS: false,
    enabledTransports: ["ws", "wss"],
    disableStats: true,
    Pusher: PusherJs,
    channelAuthorization: {
      endpoint: "/broadcasting/auth",
      transport: "ajax",
      customHandler: ({ socketId, channelName }: { socketId: string; channelName: string }, callback: ChannelAuthorizationCallback) => {
        callback(null, channelAuthorization(sdk, options, socketId, channelName));
      },
    },
  });
}

/** Resolves once an Echo channel has its subscription_succeeded. */
export function echoReady(channel: { subscribed(callback: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => channel.subscribed(() => resolve()));
}

export function echoPusher(echo: Echo<"pusher">): Pusher {
  return echo.connector.pusher as unknown as Pusher;
}
