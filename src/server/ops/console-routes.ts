/**
 * The console on the ops listener: the page at `/`, its JSON calls under
 * `/console/api/`, and its live feed, a WebSocket at `/console/api/feed`. Every
 * call passes consoleAccess; the page itself holds no data, so with a token it is
 * served to anyone and asks for the token before it calls anything.
 */
import { readFileSync } from "node:fs";
import { consoleAccess, type ConsoleAccess } from "../../console/access.js";
import { SAMPLE_INTERVAL_MS, type StatsHistory } from "../../console/stats.js";
import type { ChannelRow } from "../../console/wire.js";
import { FeedValve } from "../../console/feed-valve.js";
import { channelKind } from "../../protocol/channel-names.js";
import type { AppRegistry } from "../../apps/app-registry.js";
import { triggerEvent, type PublishingServices } from "../api/events.js";
import { bodyLimitBytes, type ApiResponse } from "../api/signed-endpoint.js";
import { readBody, STATUS_TEXT, watchAbort, type ResponseState } from "../http-io.js";
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket } from "../uws.js";
import { shippedFile } from "../../shipped-files.js";

/** No inline script or style, nothing from elsewhere: the bundle is all there is. */
const SECURITY_HEADERS: ReadonlyArray<[string, string]> = [
  ["Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"],
  ["X-Content-Type-Options", "nosniff"],
  ["Cache-Control", "no-store"],
  ["Referrer-Policy", "no-referrer"],
];

const ASSETS: ReadonlyArray<[path: string, file: string, type: string]> = [
  ["/", "index.html", "text/html; charset=utf-8"],
  ["/console/console.js", "console.js", "text/javascript; charset=utf-8"],
  ["/console/console.css", "console.css", "text/css; charset=utf-8"],
];

/** A feed that falls this far behind loses entries rather than growing the server's memory. */
const MAX_FEED_BUFFER_BYTES = 256 * 1024;
/** Consoles open at once on this node. */
const MAX_FEEDS = 32;
/** Members listed per presence channel. */
const MAX_MEMBERS_SHOWN = 100;
/** A feed that has not said who it is by then is closed. */
const FEED_HELLO_MS = 5_000;

/** What the console reads, and publishes through (its event form is the HTTP API's events endpoint). */
export interface ConsoleServices extends PublishingServices {
  readonly apps: AppRegistry;
}

export interface ConsoleOptions {
  readonly token: string | undefined;
  readonly stats: StatsHistory;
  /** Whose figures the stats are: this node's, or with worker threads the process's. */
  readonly statsNode: string;
  /** The server-wide body cap (--max-body-kb), as for the HTTP API. */
  readonly maxBodyBytes: number;
}

interface Feed {
  appId: string | undefined;
  authorized: boolean;
  /** Set once the socket is open. */
  valve: FeedValve | undefined;
  reportedDropped: number;
  open: boolean;
  remoteAddress: string;
  proxied: boolean;
}

export function mountConsole(app: TemplatedApp, ctx: ConsoleServices, options: ConsoleOptions): () => void {
  const assets = loadAssets();
  const publish = triggerEvent(ctx);
  const access = (res: HttpResponse, req: HttpRequest): ConsoleAccess =>
    consoleAccess(options.token, {
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      authorization: req.getHeader("authorization"),
      proxied: req.getHeader("x-forwarded-for") !== "" || req.getHeader("forwarded") !== "",
    });

  for (const [path, file, type] of ASSETS) {
    app.get(path, (res, req) => {
      const state = watchAbort(res);
      // With a token the page is public (it asks for the token); without one it is this machine's only.
      const allowed = options.token !== undefined ? ({ ok: true } as const) : access(res, req);
      if (!allowed.ok) return send(res, state, allowed.status, "text/plain; charset=utf-8", allowed.message);
      const body = assets.get(file);
      if (body === undefined) return send(res, state, 500, "text/plain; charset=utf-8", "The console was not built: run npm run build.");
      send(res, state, 200, type, body);
    });
  }

  /** A JSON call: checks access and the app, then answers with what `handle` returns. */
  const api = (handle: (appId: string | undefined, res: HttpResponse, state: ResponseState) => Promise<[number, unknown]> | [number, unknown] | void) =>
    (res: HttpResponse, req: HttpRequest) => {
      const state = watchAbort(res);
      const allowed = access(res, req);
      if (!allowed.ok) return json(res, state, allowed.status, { error: allowed.message });
      const appId = req.getParameter(0) ? safeDecode(req.getParameter(0)!) : undefined;
      if (appId !== undefined && !ctx.apps.byId(appId)) return json(res, state, 404, { error: "No such app." });
      const answer = handle(appId, res, state);
      if (!answer) return;
      Promise.resolve(answer).then(
        ([status, body]) => json(res, state, status, body),
        (error: unknown) => json(res, state, 503, { error: error instanceof Error ? error.message : String(error) }),
      );
    };

  // Ids and names only: keys are public anyway, secrets never leave the server.
  app.get("/console/api/apps", api(() => [200, { apps: [...ctx.apps.all()].map((entry) => ({ id: entry.id, key: entry.key, enabled: entry.enabled })) }]));
  app.get("/console/api/apps/:appId/channels", api((appId) => channelsOf(ctx, appId!)));
  app.get("/console/api/apps/:appId/stats", api((appId) => [200, { node: options.statsNode, intervalMs: SAMPLE_INTERVAL_MS, samples: options.stats.of(appId!) }]));
  app.post(
    "/console/api/apps/:appId/events",
    api((appId, res, state) => {
      const target = ctx.apps.byId(appId!)!;
      const limit = bodyLimitBytes(target, options.maxBodyBytes);
      readBody(
        res,
        limit,
        (body) => {
          // The same endpoint as POST /apps/{id}/events, minus the signature the console's token replaces.
          const text = body.toString("utf8");
          Promise.resolve(publish({ app: target, nowSecond: Math.floor(Date.now() / 1000), query: new Map(), params: [], body: text })).then(
            (answer: ApiResponse) => json(res, state, answer.status, answer.body),
            (error: unknown) => json(res, state, 503, { error: error instanceof Error ? error.message : String(error) }),
          );
        },
        () => json(res, state, 413, { error: `The request body is larger than the ${limit} bytes this app accepts.` }),
      );
    }),
  );

  const feeds = new Set<WebSocket<Feed>>();
  app.ws<Feed>("/console/api/feed", {
    maxPayloadLength: 4096,
    maxBackpressure: MAX_FEED_BUFFER_BYTES * 2,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade(res, req, context) {
      if (feeds.size >= MAX_FEEDS) {
        res.writeStatus("503 Service Unavailable").end(`At most ${MAX_FEEDS} consoles may be open at once on this node.`);
        return;
      }
      const feed: Feed = {
        appId: undefined,
        authorized: false,
        valve: undefined,
        reportedDropped: 0,
        open: true,
        remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
        proxied: req.getHeader("x-forwarded-for") !== "" || req.getHeader("forwarded") !== "",
      };
      res.upgrade(feed, req.getHeader("sec-websocket-key"), req.getHeader("sec-websocket-protocol"), req.getHeader("sec-websocket-extensions"), context);
    },
    open(ws) {
      feeds.add(ws);
      const feed = ws.getUserData();
      feed.valve = new FeedValve({ open: () => feed.open, bufferedBytes: () => ws.getBufferedAmount(), send: (text) => void ws.send(text) }, MAX_FEED_BUFFER_BYTES);
      setTimeout(() => {
        if (feed.open && !feed.authorized) ws.end(4401, "No hello within 5 s");
      }, FEED_HELLO_MS).unref();
    },
    message(ws, message) {
      const feed = ws.getUserData();
      const hello = feedMessage(message);
      if (!hello) return ws.end(4400, "Send a JSON object");
      if (!feed.authorized) {
        const allowed = consoleAccess(options.token, {
          remoteAddress: feed.remoteAddress,
          authorization: typeof hello.token === "string" ? `Bearer ${hello.token}` : "",
          proxied: feed.proxied,
        });
        if (!allowed.ok) {
          ws.send(JSON.stringify({ kind: "error", message: allowed.message }));
          return ws.end(4401, "Not authorized");
        }
        feed.authorized = true;
        ws.send(JSON.stringify({ kind: "hello", node: ctx.tap.node }));
      }
      const valve = feed.valve!;
      if (typeof hello.paused === "boolean" && hello.paused !== valve.paused) {
        valve.paused = hello.paused;
        ws.send(JSON.stringify({ kind: "paused", paused: valve.paused }));
      }
      if (typeof hello.app === "string" && hello.app !== feed.appId) watch(ctx, ws, feed, hello.app);
    },
    close(ws) {
      const feed = ws.getUserData();
      feed.open = false;
      feeds.delete(ws);
      if (feed.appId !== undefined) ctx.tap.remove(feed.appId, feed.valve!);
    },
  });

  // Losses are told once a second, not per entry, so a flood does not add to itself.
  const reporter = setInterval(() => {
    for (const ws of feeds) {
      const feed = ws.getUserData();
      const dropped = feed.valve!.dropped;
      if (dropped === feed.reportedDropped || ws.getBufferedAmount() > MAX_FEED_BUFFER_BYTES) continue;
      feed.reportedDropped = dropped;
      ws.send(JSON.stringify({ kind: "dropped", count: dropped }));
    }
  }, 1000);
  reporter.unref();
  return () => {
    clearInterval(reporter);
    for (const ws of [...feeds]) ws.end(1001, "Server shutting down");
  };
}

/** A message of the feed: a JSON object, or undefined for anything else (`null` included). */
function feedMessage(message: ArrayBuffer): { token?: unknown; app?: unknown; paused?: unknown } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(message).toString("utf8"));
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function watch(ctx: ConsoleServices, ws: WebSocket<Feed>, feed: Feed, appId: string): void {
  if (feed.appId !== undefined) ctx.tap.remove(feed.appId, feed.valve!);
  feed.appId = undefined;
  if (!ctx.apps.byId(appId)) {
    ws.send(JSON.stringify({ kind: "error", message: "No such app." }));
    return;
  }
  feed.appId = appId;
  ctx.tap.add(appId, feed.valve!);
  ws.send(JSON.stringify({ kind: "watching", app: appId }));
}

/** The app's occupied channels with their subscribers, and presence members, all cluster-wide. */
async function channelsOf(ctx: ConsoleServices, appId: string): Promise<[number, unknown]> {
  const names = (await ctx.occupancy.occupiedChannels(appId, "")).filter((name) => !name.startsWith("#watchers:")).sort();
  const rows = await Promise.all(
    names.map(async (name): Promise<ChannelRow> => {
      const subscriptionCount = await ctx.occupancy.subscriptionCount(appId, name);
      if (channelKind(name) !== "presence") return { name, subscriptionCount };
      const snapshot = await ctx.presence.members(appId, name);
      const members = snapshot.ids.slice(0, MAX_MEMBERS_SHOWN).map((id) => ({ id, info: snapshot.hash[id] }));
      return { name, subscriptionCount, userCount: snapshot.count, members };
    }),
  );
  return [200, { channels: rows }];
}

function loadAssets(): Map<string, Buffer> {
  const assets = new Map<string, Buffer>();
  for (const [, file] of ASSETS) {
    try {
      assets.set(file, readFileSync(shippedFile(`web/console/${file}`)));
    } catch {
      // Not built: the route says so.
    }
  }
  return assets;
}

function send(res: HttpResponse, state: ResponseState, status: number, type: string, body: string | Buffer): void {
  if (state.aborted) return;
  state.aborted = true;
  res.cork(() => {
    res.writeStatus(STATUS_TEXT[status] ?? String(status)).writeHeader("Content-Type", type);
    for (const [name, value] of SECURITY_HEADERS) res.writeHeader(name, value);
    res.end(body);
  });
}

function json(res: HttpResponse, state: ResponseState, status: number, body: unknown): void {
  send(res, state, status, "application/json", JSON.stringify(body));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
