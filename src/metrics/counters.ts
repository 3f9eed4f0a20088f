/**
 * What this node counts as it works, as plain numbers: the socket and HTTP paths
 * bump fields and never touch prom-client, whose label lookups cost more than the
 * work they would measure. /metrics reads these when it is scraped.
 */
import type { BufferDropReason } from "../cluster/cluster.js";

/** The close codes reported by name; any other code a client sends is counted as "other". */
const KNOWN_CLOSE_CODES = new Set([1000, 1001, 1005, 1006, 1009, 4001, 4003, 4004, 4007, 4009, 4100, 4200, 4201]);

/** Keeps the `code` label bounded: clients may close with any code from 1000 to 4999. */
function closeCodeLabel(code: number): string {
  return KNOWN_CLOSE_CODES.has(code) ? String(code) : "other";
}

export type HttpTransport = "xhr_streaming" | "xhr_polling";

export type RateLimitKind = "api_reads" | "backend_events" | "client_events";

export class AppCounters {
  connectionsOpened = 0;
  /** By close-code label. */
  readonly connectionsClosed = new Map<string, number>();
  /** Sockets closed because they could not keep up with what was sent to them. */
  backpressureCloses = 0;
  /** Frames received from this app's sockets, and their bytes. */
  messagesReceived = 0;
  bytesReceived = 0;
  /** Channel-event frames handed to this app's sockets by fan-out, and their bytes. */
  messagesSent = 0;
  bytesSent = 0;
  readonly rateLimited: Record<RateLimitKind, number> = { api_reads: 0, backend_events: 0, client_events: 0 };
  /** Signed HTTP API requests, for the console's stats. */
  apiRequests = 0;
  /** pusher-js's HTTP fallback: sessions open now, and opened since start, by transport. */
  readonly httpSessions: Record<HttpTransport, number> = { xhr_streaming: 0, xhr_polling: 0 };
  readonly httpSessionsOpened: Record<HttpTransport, number> = { xhr_streaming: 0, xhr_polling: 0 };
  /** Vacant-channel buffers: events kept, hand-overs of at least one, events thrown away by reason. */
  bufferedEvents = 0;
  bufferHandovers = 0;
  readonly bufferDropped: Record<BufferDropReason, number> = { expired: 0, max_events: 0, channel_cap: 0, memory: 0 };

  closed(code: number): void {
    const label = closeCodeLabel(code);
    this.connectionsClosed.set(label, (this.connectionsClosed.get(label) ?? 0) + 1);
  }
}

/** Bounds of the publish latency histogram, in seconds. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** A fixed-bucket histogram: one array walk per observation, read by /metrics. */
export class LatencyHistogram {
  /** Observations at or under each bound (not cumulative; /metrics adds them up). */
  readonly counts = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]!) bucket++;
    this.counts[bucket]! += 1;
    this.sum += seconds;
    this.count += 1;
  }
}

export class NodeCounters {
  private readonly apps = new Map<string, AppCounters>();
  /** HTTP API answers by endpoint, then status: two lookups of values whose hashes are known, rather than a key built per request. */
  readonly httpRequests = new Map<string, Map<number, number>>();
  /** From an HTTP API publish arriving to its frames being handed to this node's sockets. */
  readonly publishLatency = new LatencyHistogram();

  of(appId: string): AppCounters {
    let counters = this.apps.get(appId);
    if (!counters) {
      counters = new AppCounters();
      this.apps.set(appId, counters);
    }
    return counters;
  }

  /** Apps that have counted anything, with their counters. */
  entries(): IterableIterator<[string, AppCounters]> {
    return this.apps.entries();
  }

  httpAnswered(endpoint: string, status: number): void {
    let statuses = this.httpRequests.get(endpoint);
    if (!statuses) this.httpRequests.set(endpoint, (statuses = new Map()));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
}
