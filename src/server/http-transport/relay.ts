/**
 * The HTTP fallback on worker threads. A session's requests are separate HTTP
 * requests, which the kernel spreads over the threads like any connection, but a
 * session lives on one thread: its home, chosen from its id. A request that lands
 * elsewhere is relayed to the home thread (through the main thread), answered
 * there by the same route code through a RemoteResponse, and the answer written
 * back here, piece by piece for a stream.
 */
import { readBody } from "../http-io.js";
import type { HttpRequest, HttpResponse } from "../uws.js";

export type RelayedRoute = "xhr_streaming" | "xhr" | "xhr_send";

export type RelayMessage =
  | {
      readonly t: "request";
      readonly id: number;
      readonly from: number;
      readonly route: RelayedRoute;
      /** The route's parameters (key, server, session), its Origin header and query. */
      readonly params: readonly [string, string, string];
      readonly origin: string;
      readonly query: string;
      readonly body: ArrayBuffer | undefined;
    }
  | { readonly t: "response"; readonly id: number; readonly head: RelayedHead | undefined; readonly text: string; readonly end: boolean }
  | { readonly t: "aborted"; readonly id: number; readonly from: number };

interface RelayedHead {
  readonly status: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** How a thread reaches the others (workers.ts passes the messages on). */
export interface ThreadLink {
  readonly thread: number;
  readonly threads: number;
  post(to: number, message: RelayMessage): void;
}

type Handler = (res: HttpResponse, req: HttpRequest) => void;

/** A held request relayed to another thread, answered there. */
interface Outgoing {
  readonly res: HttpResponse;
  headed: boolean;
}

export class SessionRelay {
  private nextId = 1;
  private readonly outgoing = new Map<number, Outgoing>();
  /** Requests answered here for other threads, by "thread:id". */
  private readonly incoming = new Map<string, RemoteResponse>();
  private handlers: Readonly<Record<RelayedRoute, Handler>> | undefined;

  constructor(private readonly link: ThreadLink) {}

  /** The thread whose sessions include this id ("key/server/session"). */
  homeOf(sessionId: string): number {
    let hash = 0;
    for (let index = 0; index < sessionId.length; index++) hash = (Math.imul(hash, 31) + sessionId.charCodeAt(index)) | 0;
    return (hash >>> 0) % this.link.threads;
  }

  /** Serves each route here when the session's home is here, else relays it; `maxSendBytes` bounds a relayed send. */
  route(handlers: Readonly<Record<RelayedRoute, Handler>>, sessionIdOf: (req: HttpRequest) => string | undefined, maxSendBytes: number, tooLarge: (res: HttpResponse, origin: string) => void): Record<RelayedRoute, Handler> {
    this.handlers = handlers;
    const routed = (route: RelayedRoute): Handler => (res, req) => {
      const id = sessionIdOf(req);
      const home = id === undefined ? this.link.thread : this.homeOf(id);
      if (home === this.link.thread) return handlers[route](res, req);
      this.relay(res, req, route, home, maxSendBytes, tooLarge);
    };
    return { xhr_streaming: routed("xhr_streaming"), xhr: routed("xhr"), xhr_send: routed("xhr_send") };
  }

  /** Relayed requests still waiting for their answer, for the stop. */
  get pending(): number {
    return this.outgoing.size;
  }

  received(message: RelayMessage): void {
    switch (message.t) {
      case "request": {
        const res = new RemoteResponse(this.link, message.from, message.id, message.body, () => this.incoming.delete(`${message.from}:${message.id}`));
        // This thread is still starting (it was restarted): the client tries again.
        if (!this.handlers) return void res.writeStatus("503 Service Unavailable").end("This worker thread is starting; send the request again.");
        this.incoming.set(`${message.from}:${message.id}`, res);
        return this.handlers[message.route](res as unknown as HttpResponse, remoteRequest(message));
      }
      case "aborted":
        return this.incoming.get(`${message.from}:${message.id}`)?.abort();
      case "response": {
        const outgoing = this.outgoing.get(message.id);
        if (!outgoing) return;
        if (message.end) this.outgoing.delete(message.id);
        outgoing.res.cork(() => {
          if (message.head && !outgoing.headed) {
            outgoing.res.writeStatus(message.head.status);
            for (const [name, value] of message.head.headers) outgoing.res.writeHeader(name, value);
            outgoing.headed = true;
          }
          if (message.end) outgoing.res.end(message.text);
          else outgoing.res.write(message.text);
        });
      }
    }
  }

  private relay(res: HttpResponse, req: HttpRequest, route: RelayedRoute, home: number, maxSendBytes: number, tooLarge: (res: HttpResponse, origin: string) => void): void {
    const id = this.nextId++;
    // Read now: uWS's request is valid only during this call.
    const params = [req.getParameter(0) ?? "", req.getParameter(1) ?? "", req.getParameter(2) ?? ""] as const;
    const origin = req.getHeader("origin");
    const query = req.getQuery() ?? "";
    this.outgoing.set(id, { res, headed: false });
    res.onAborted(() => {
      if (this.outgoing.delete(id)) this.link.post(home, { t: "aborted", id, from: this.link.thread });
    });
    const send = (body: ArrayBuffer | undefined) => this.link.post(home, { t: "request", id, from: this.link.thread, route, params, origin, query, body });
    if (route !== "xhr_send") return send(undefined);
    readBody(
      res,
      maxSendBytes,
      (body) => send(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer),
      () => {
        if (this.outgoing.delete(id)) tooLarge(res, origin);
      },
    );
  }
}

function remoteRequest(message: Extract<RelayMessage, { t: "request" }>): HttpRequest {
  const request = {
    getParameter: (index: number) => message.params[index],
    getHeader: (name: string) => (name === "origin" ? message.origin : ""),
    getQuery: () => message.query,
  };
  return request as unknown as HttpRequest;
}

/**
 * What the route code writes to a response, sent to the thread that holds the
 * real one. The part of uWS's HttpResponse the fallback's routes use; a write is
 * never refused here (the holding thread's engine buffers it).
 */
class RemoteResponse {
  private status = "200 OK";
  private headers: Array<[string, string]> = [];
  private headed = false;
  private ended = false;
  private onAbort: Array<() => void> = [];

  constructor(
    private readonly link: ThreadLink,
    private readonly to: number,
    private readonly id: number,
    private readonly body: ArrayBuffer | undefined,
    private readonly done: () => void,
  ) {}

  cork(work: () => void): this {
    work();
    return this;
  }

  writeStatus(status: string): this {
    this.status = status;
    return this;
  }

  writeHeader(name: string, value: string): this {
    this.headers.push([name, value]);
    return this;
  }

  write(text: string): boolean {
    this.send(text, false);
    return true;
  }

  end(text = ""): this {
    this.send(text, true);
    return this;
  }

  onAborted(handler: () => void): this {
    this.onAbort.push(handler);
    return this;
  }

  onWritable(): this {
    return this;
  }

  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): this {
    const body = this.body ?? new ArrayBuffer(0);
    queueMicrotask(() => handler(body, true));
    return this;
  }

  abort(): void {
    if (this.ended) return;
    this.ended = true;
    this.done();
    for (const handler of this.onAbort) handler();
  }

  private send(text: string, end: boolean): void {
    if (this.ended) return;
    const head = this.headed ? undefined : { status: this.status, headers: this.headers };
    this.headed = true;
    if (end) {
      this.ended = true;
      this.done();
    }
    this.link.post(this.to, { t: "response", id: this.id, head, text, end });
  }
}
