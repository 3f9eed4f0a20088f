/**
 * pusher-js's HTTP fallback on the main port: `POST {httpPath}/app/{key}/{server}/{session}/`
 * `xhr_streaming` or `xhr` to receive, `xhr_send` to send, each with its CORS
 * preflight. A session is a Pusher connection opened, fed and closed by the same
 * code as a WebSocket (pusher-connection.ts); this file only moves its text.
 */
import { Closes } from "../../protocol/closes.js";
import { closeConnection } from "../close-connection.js";
import { readBody, watchAbort } from "../http-io.js";
import { connectionClosed, newConnection, openConnection, receiveFrame, type SocketLimits, type SocketServices } from "../pusher-connection.js";
import type { HttpRequest, HttpResponse, TemplatedApp } from "../uws.js";
import { safeDecode } from "../websocket-handler.js";
import type { SessionRelay } from "./relay.js";
import { HttpSession, type SessionHost, type SessionTransport } from "./session.js";
import type { SessionTopics } from "./session-topics.js";

export interface HttpTransportServices extends SocketServices {
  readonly sessionTopics: SessionTopics;
}

/** pusher-js's session ids: a number under 1000 and 8 characters of [0-9a-v]; a little room either way. */
const SERVER_ID = /^\d{1,6}$/;
const SESSION_ID = /^[0-9a-z]{1,32}$/;

/** What the stop needs of the sessions: that each took its close (or expired), within `waitMs`. */
export interface HttpSessions {
  closed(waitMs: number): Promise<void>;
  /**
   * That the requests this thread relayed to other threads' sessions were answered, within
   * `waitMs`: asked again just before the stop closes the app, since an answer comes back
   * through the main thread on another port than the word that every thread has settled.
   */
  relaysAnswered(waitMs: number): Promise<void>;
}

/** Mounts the fallback under `path` (the prefix and httpPath together); `relay`: on worker threads, how requests reach their session's thread. */
export function mountHttpTransports(
  uwsApp: TemplatedApp,
  ctx: HttpTransportServices,
  limits: SocketLimits,
  path: string,
  advertiseHost: string | undefined,
  relay: SessionRelay | undefined,
): HttpSessions {
  const sessions = new Map<string, HttpSession>();
  const host: SessionHost = {
    // pusher-js sends every later request of the session to this host (same scheme, port and path).
    openLine: advertiseHost ? `o${JSON.stringify({ hostname: advertiseHost })}\n` : "o\n",
    topics: ctx.sessionTopics,
    publishExcept(topic, frame, except) {
      uwsApp.publish(topic, frame);
      ctx.sessionTopics.deliver(topic, frame, except);
    },
    gone: (session, code) => connectionClosed(ctx, session, code, session.transport),
    forget(session) {
      if (sessions.get(session.id) === session) sessions.delete(session.id);
    },
    writeHead(res, origin) {
      res.writeStatus("200 OK");
      allowOrigin(res, origin);
      res.writeHeader("Content-Type", "application/javascript; charset=UTF-8");
      res.writeHeader("Cache-Control", "no-cache, no-store, must-revalidate, max-age=0");
      // Proxies that buffer (nginx) would hold a stream back; see the README's proxy settings.
      res.writeHeader("X-Accel-Buffering", "no");
    },
    maxQueuedBytes: limits.maxBackpressureBytes,
    tooSlow(session) {
      const { app } = session.getUserData();
      if (app) ctx.counters.of(app.id).backpressureCloses += 1;
      closeConnection(session, Closes.tooSlow());
    },
  };

  const base = `${path}/app/:key/:server/:session`;
  const receive = (transport: SessionTransport) => (res: HttpResponse, req: HttpRequest) => {
    const origin = req.getHeader("origin");
    const id = sessionId(req);
    if (!id) return answer(res, "404 Not Found", origin, "No such session.");
    const existing = sessions.get(id);
    if (existing) {
      if (existing.transport !== transport) return answer(res, "404 Not Found", origin, "This session uses another transport.");
      return existing.attach(res, origin);
    }
    if (ctx.lifecycle.draining) return answer(res, "503 Service Unavailable", origin, "Herald is shutting down; connect again.");
    const session = new HttpSession(id, transport, newConnection(ctx, safeDecode(req.getParameter(0) ?? ""), req.getQuery() ?? "", origin), host);
    sessions.set(id, session);
    // Opened first, so the first answer carries `o` with connection_established (or the refusal).
    openConnection(ctx, limits, session, transport);
    session.attach(res, origin);
  };
  // A body is one pusher-js frame as a JSON string in an array; its escaping may double it.
  const maxSendBytes = 2 * limits.maxFrameBytes + 1024;
  const tooLarge = (res: HttpResponse, origin: string) => answer(res, "413 Payload Too Large", origin, `A send may carry at most ${maxSendBytes} bytes.`);
  const send = (res: HttpResponse, req: HttpRequest) => {
    const origin = req.getHeader("origin");
    const id = sessionId(req);
    const session = id === undefined ? undefined : sessions.get(id);
    if (!session || !session.getUserData().open) return answer(res, "404 Not Found", origin, "No such session.");
    const state = watchAbort(res);
    const reply = (status: string, text?: string) => {
      if (state.aborted) return;
      state.aborted = true; // answered once
      answer(res, status, origin, text);
    };
    readBody(
      res,
      maxSendBytes,
      (body) => {
        const texts = frameTexts(body.toString("utf8"));
        if (!texts) return reply("400 Bad Request", 'Expected a JSON array of frames as strings, e.g. ["{\\"event\\":\\"pusher:ping\\",\\"data\\":{}}"].');
        if (texts.length === 0) {
          ctx.keepalive.heard(session.getUserData());
          session.heartbeatAsked();
        }
        for (const text of texts) if (session.getUserData().open) receiveFrame(ctx, session, text, Buffer.byteLength(text));
        reply("204 No Content");
      },
      () => {
        if (!state.aborted) tooLarge(res, origin);
        state.aborted = true;
      },
    );
  };
  const handlers = { xhr_streaming: receive("xhr_streaming"), xhr: receive("xhr_polling"), xhr_send: send };
  const routes = relay ? relay.route(handlers, sessionId, maxSendBytes, tooLarge) : handlers;
  for (const [route, handler] of Object.entries(routes)) uwsApp.post(`${base}/${route}`, handler);

  for (const route of ["xhr_streaming", "xhr", "xhr_send"]) uwsApp.options(`${base}/${route}`, preflight);
  return {
    // A session between two polls takes its close with the next one, within milliseconds.
    // And the requests relayed to other threads' sessions, whose close comes back through this one.
    closed: (waitMs) => until(() => sessions.size === 0 && (relay?.pending ?? 0) === 0, waitMs),
    relaysAnswered: (waitMs) => until(() => (relay?.pending ?? 0) === 0, waitMs),
  };
}

async function until(done: () => boolean, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

function sessionId(req: HttpRequest): string | undefined {
  const key = req.getParameter(0) ?? "";
  const server = req.getParameter(1) ?? "";
  const session = req.getParameter(2) ?? "";
  if (key === "" || !SERVER_ID.test(server) || !SESSION_ID.test(session)) return undefined;
  return `${key}/${server}/${session}`;
}

/** The frames of an xhr_send body, or undefined when it is not an array of strings. */
function frameTexts(body: string): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  return Array.isArray(parsed) && parsed.every((item) => typeof item === "string") ? parsed : undefined;
}

/**
 * Any page may talk to the fallback, as any page may open a WebSocket: the app's
 * allowedOrigins decide when the session opens (4009), as they do for a WebSocket,
 * and the client must be able to read that answer.
 */
function allowOrigin(res: HttpResponse, origin: string): void {
  res.writeHeader("Access-Control-Allow-Origin", origin || "*");
  if (origin) res.writeHeader("Vary", "Origin");
}

function preflight(res: HttpResponse, req: HttpRequest): void {
  const origin = req.getHeader("origin");
  const headers = req.getHeader("access-control-request-headers");
  res.cork(() => {
    res.writeStatus("204 No Content");
    allowOrigin(res, origin);
    res.writeHeader("Access-Control-Allow-Methods", "POST, OPTIONS");
    res.writeHeader("Access-Control-Allow-Headers", headers || "Content-Type");
    res.writeHeader("Access-Control-Max-Age", "600");
    res.end();
  });
}

function answer(res: HttpResponse, status: string, origin: string, text?: string): void {
  res.cork(() => {
    res.writeStatus(status);
    allowOrigin(res, origin);
    res.writeHeader("Cache-Control", "no-cache, no-store, must-revalidate, max-age=0");
    if (text === undefined) res.end();
    else res.writeHeader("Content-Type", "text/plain; charset=utf-8").end(text);
  });
}
