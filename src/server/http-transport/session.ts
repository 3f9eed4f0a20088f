/**
 * One pusher-js HTTP fallback session (xhr_streaming or xhr_polling): a Pusher
 * connection like a WebSocket, whose frames wait in a bounded queue until a
 * receive request takes them. Streaming holds one response open and writes each
 * batch as it comes; polling answers a held request with what is queued and
 * ends it. Framing (PROTOCOL.md §5): `o` open, `a[...]` frames as JSON strings,
 * `h` heartbeat, `c[code,"reason"]` close, one per line.
 */
import { TIMINGS } from "../../timings.js";
import type { Connection, NodeSocket } from "../connection.js";
import type { HttpResponse } from "../uws.js";
import type { SessionTopics } from "./session-topics.js";

export type SessionTransport = "xhr_streaming" | "xhr_polling";

/** What a session asks of the node that holds it. */
export interface SessionHost {
  /** The first line of a session: `o`, with the host to pin later requests to, if any. */
  readonly openLine: string;
  readonly topics: SessionTopics;
  /** Publishes to a topic's WebSockets and its other sessions (exclusion through a session). */
  publishExcept(topic: string, frame: string, except: HttpSession): void;
  /** The connection ended (closed by the server, or expired): what it held is released. */
  gone(session: HttpSession, code: number): void;
  /** Nothing more will be written: the node forgets the session. */
  forget(session: HttpSession): void;
  /** Writes the status line and headers every receive response carries. */
  writeHead(res: HttpResponse, origin: string): void;
  /** The queue's bound: past it the session is too slow and is closed (4100). */
  readonly maxQueuedBytes: number;
  tooSlow(session: HttpSession): void;
}

/** How long a session lives without a receive request: the client re-polls at once, and a stream is re-opened at once. */
export const SESSION_EXPIRY_MS = TIMINGS.sessionExpiryMs;
/** A held receive request answers (polling) or writes (streaming) a heartbeat this often: pusher-js waits 30 s for one. */
export const HEARTBEAT_MS = 20_000;
/**
 * pusher-js answers every `h` on a stream with an empty send, which is also how it
 * checks the server is there: an empty send is answered with `h` only when none
 * went out for this long, or the two would ping-pong for ever.
 */
const HEARTBEAT_ANSWER_GAP_MS = 10_000;

interface Receiver {
  readonly res: HttpResponse;
  readonly origin: string;
  /** Whether the status line and headers went out (streaming writes them once). */
  headed: boolean;
  /** The engine could not take the last write: frames wait in the queue, where the bound applies. */
  blocked: boolean;
  timer: NodeJS.Timeout;
}

export class HttpSession implements NodeSocket {
  readonly isSession = true as const;
  private readonly topicSet = new Set<string>();
  private queue: string[] = [];
  private queuedBytes = 0;
  /** Lines to write before the queued frames: `o` once, heartbeats. */
  private control = "";
  private closeLine: string | undefined;
  private receiver: Receiver | undefined;
  private expiry: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private ended = false;
  private lastHeartbeatAt = 0;

  constructor(
    /** "key/server/session", as the client's URLs carry it. */
    readonly id: string,
    readonly transport: SessionTransport,
    private readonly connection: Connection,
    private readonly host: SessionHost,
  ) {
    this.control = host.openLine;
    this.startExpiry();
  }

  getUserData(): Connection {
    return this.connection;
  }

  send(frame: string): void {
    if (this.ended || !this.connection.open) return;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (this.queuedBytes > this.host.maxQueuedBytes) return this.host.tooSlow(this);
    this.scheduleFlush();
  }

  subscribe(topic: string): void {
    this.topicSet.add(topic);
    this.host.topics.add(topic, this);
  }

  unsubscribe(topic: string): void {
    this.topicSet.delete(topic);
    this.host.topics.remove(topic, this);
  }

  isSubscribed(topic: string): boolean {
    return this.topicSet.has(topic);
  }

  publish(topic: string, frame: string): void {
    this.host.publishExcept(topic, frame, this);
  }

  getBufferedAmount(): number {
    return this.queuedBytes;
  }

  /** There is no transport-level ping: pusher:ping (keepalive.ts) and heartbeats do it. */
  ping(): void {}

  cork(work: () => void): void {
    work();
  }

  /** Ends the session: what is queued, then `c[code,"reason"]`; the node releases what it held. */
  end(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.closeLine = `c${JSON.stringify([code, reason])}\n`;
    this.dropTopics();
    this.host.gone(this, code);
    // Written now if a receive request is held, else to the next one (until the session expires).
    this.flush();
  }

  /** The client's empty send (`[]`): its liveness check, answered on the stream. */
  heartbeatAsked(): void {
    if (this.transport === "xhr_streaming" && Date.now() - this.lastHeartbeatAt >= HEARTBEAT_ANSWER_GAP_MS) this.heartbeat();
  }

  /** A receive request for this session: it takes what is queued (polling holds it until there is some). */
  attach(res: HttpResponse, origin: string): void {
    // A new request replaces a held one (the client re-opened its stream): the old one ends.
    if (this.receiver) this.finish(this.receiver, "");
    clearTimeout(this.expiry);
    this.expiry = undefined;
    const receiver: Receiver = { res, origin, headed: false, blocked: false, timer: setTimeout(() => this.beat(receiver), HEARTBEAT_MS) };
    receiver.timer.unref();
    this.receiver = receiver;
    res.onAborted(() => {
      if (this.receiver !== receiver) return;
      clearTimeout(receiver.timer);
      this.receiver = undefined;
      this.startExpiry();
    });
    // A resumed stream with nothing queued says `h`, so the client sees it open at once
    // (an empty write could end a chunked body).
    if (!this.hasOutput() && this.transport === "xhr_streaming") this.heartbeat();
    else this.flush();
  }

  private heartbeat(): void {
    this.lastHeartbeatAt = Date.now();
    this.control += "h\n";
    this.scheduleFlush();
  }

  /** The session is over and its last words are out: nothing more is kept. */
  get finished(): boolean {
    return this.ended && this.closeLine === undefined;
  }

  private hasOutput(): boolean {
    return this.control !== "" || this.queue.length > 0 || this.closeLine !== undefined;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Everything sent in this turn of the event loop goes out in one write.
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const receiver = this.receiver;
    if (!receiver || receiver.blocked || !this.hasOutput()) return;
    let text = this.control;
    this.control = "";
    if (this.queue.length > 0) {
      text += `a${JSON.stringify(this.queue)}\n`;
      this.queue = [];
      this.queuedBytes = 0;
    }
    const last = this.closeLine !== undefined;
    if (last) {
      text += this.closeLine;
      this.closeLine = undefined;
    }
    if (last || this.transport === "xhr_polling") this.finish(receiver, text);
    else this.write(receiver, text);
  }

  /** A held request with nothing to say for HEARTBEAT_MS says `h`: a poll ends, a stream goes on. */
  private beat(receiver: Receiver): void {
    if (this.receiver !== receiver) return;
    this.lastHeartbeatAt = Date.now();
    this.control += "h\n";
    this.flush();
    if (this.receiver === receiver) {
      receiver.timer = setTimeout(() => this.beat(receiver), HEARTBEAT_MS);
      receiver.timer.unref();
    }
  }

  private write(receiver: Receiver, text: string): void {
    receiver.res.cork(() => {
      if (!receiver.headed) {
        this.host.writeHead(receiver.res, receiver.origin);
        receiver.headed = true;
      }
      if (text !== "" && !receiver.res.write(text)) {
        receiver.blocked = true;
        receiver.res.onWritable(() => {
          receiver.blocked = false;
          if (this.receiver === receiver) this.flush();
          return true;
        });
      }
    });
  }

  /** Answers and ends the held request. */
  private finish(receiver: Receiver, text: string): void {
    clearTimeout(receiver.timer);
    this.receiver = undefined;
    receiver.res.cork(() => {
      if (!receiver.headed) this.host.writeHead(receiver.res, receiver.origin);
      receiver.res.end(text);
    });
    if (this.finished) this.host.forget(this);
    else this.startExpiry();
  }

  private startExpiry(): void {
    clearTimeout(this.expiry);
    this.expiry = setTimeout(() => this.expire(), SESSION_EXPIRY_MS);
    this.expiry.unref();
  }

  /** No receive request came: the client is gone, as a WebSocket dropped without a close (1006). */
  private expire(): void {
    this.expiry = undefined;
    if (this.receiver) return;
    this.closeLine = undefined;
    if (!this.ended) {
      this.ended = true;
      this.dropTopics();
      this.host.gone(this, 1006);
    }
    this.host.forget(this);
  }

  private dropTopics(): void {
    for (const topic of this.topicSet) this.host.topics.remove(topic, this);
    this.topicSet.clear();
  }
}
