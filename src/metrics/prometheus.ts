/**
 * The Prometheus view of a node, built when /metrics is scraped: prom-client's
 * process and event-loop metrics, plus Herald's own read from the plain counters
 * and from the parts that hold state (sockets, channels, webhooks, Redis link).
 * Labels are bounded: app ids come from apps.json, codes and kinds from fixed sets.
 */
import client from "prom-client";
import type { ChannelKind } from "../protocol/channel-names.js";
import type { BufferDropReason } from "../cluster/cluster.js";
import { collectRuntimeMetrics } from "./runtime.js";
import { LATENCY_BUCKETS, type AppCounters, type LatencyHistogram, type NodeCounters, type RateLimitKind, type HttpTransport } from "./counters.js";

/** What an app's webhook queues count as they go (and keep across a reload). */
export interface WebhookDeliveries {
  /** Requests the receiver answered with a 2xx. */
  delivered: number;
  /** Attempts that failed (and were retried, or gave up). */
  failed: number;
  /** Events lost: the queue was full or delivery failed for 5 minutes. */
  dropped: number;
}

export interface WebhookStats extends Readonly<WebhookDeliveries> {
  /** Events waiting, in flight or awaiting a retry now. */
  readonly queued: number;
}

export interface RedisLinkStats {
  readonly up: boolean;
  /** The last heartbeat's round trip, or undefined before the first. */
  readonly roundTripSeconds: number | undefined;
  /** Messages other nodes missed because Redis was unreachable. */
  readonly messagesNotSent: number;
}

/** Where the numbers come from; read at scrape time only. */
export interface MetricSources {
  readonly counters: NodeCounters;
  appIds(): readonly string[];
  connections(appId: string): number;
  subscriptions(appId: string): ReadonlyMap<ChannelKind, number>;
  webhooks(appId: string): WebhookStats | undefined;
  /** Undefined for a single process, which has no Redis (from the start: it never changes). */
  redisLink(): RedisLinkStats | undefined;
}

export interface MetricsExporter {
  readonly contentType: string;
  text(): Promise<string>;
}

type Labels = Record<string, string>;
type Sample = readonly [Labels, number];

export function prometheusExporter(sources: MetricSources): MetricsExporter {
  const registry = new client.Registry();
  collectRuntimeMetrics(registry);
  const { counters } = sources;

  /** Every configured app gets a sample, zero until it counts something, so graphs start at 0. */
  function perApp(read: (appCounters: AppCounters) => number): Sample[] {
    return sources.appIds().map((app) => [{ app }, read(counters.of(app))]);
  }

  const metric = (kind: "counter" | "gauge", name: string, help: string, labelNames: string[], samples: () => Iterable<Sample>) => {
    const Type = kind === "counter" ? client.Counter : client.Gauge;
    new Type({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: client.Counter | client.Gauge) {
        this.reset();
        for (const [labels, value] of samples()) {
          if (this instanceof client.Gauge) this.set(labels, value);
          else this.inc(labels, value);
        }
      },
    });
  };

  metric("gauge", "herald_connections", "Open WebSocket connections on this node.", ["app"], () =>
    sources.appIds().map((app) => [{ app }, sources.connections(app)]));
  metric("counter", "herald_connections_opened_total", "WebSocket connections accepted (connection_established sent).", ["app"], () =>
    perApp((c) => c.connectionsOpened));
  metric("counter", "herald_connections_closed_total", "WebSocket connections closed, by close code, including those of a known app refused at connect (4004, 4100); unlisted client codes are \"other\".", ["app", "code"], function* () {
    for (const [app, c] of counters.entries()) for (const [code, count] of c.connectionsClosed) yield [{ app, code }, count];
  });
  metric("counter", "herald_backpressure_closes_total", "Sockets closed (4100) because they could not take frames as fast as they came.", ["app"], () =>
    perApp((c) => c.backpressureCloses));
  metric("gauge", "herald_subscriptions", "Channel subscriptions of this node's sockets, by channel type.", ["app", "type"], function* () {
    for (const app of sources.appIds()) for (const [type, count] of sources.subscriptions(app)) yield [{ app, type }, count];
  });
  metric("counter", "herald_messages_received_total", "WebSocket frames received from clients.", ["app"], () => perApp((c) => c.messagesReceived));
  metric("counter", "herald_received_bytes_total", "Bytes of WebSocket frames received from clients.", ["app"], () => perApp((c) => c.bytesReceived));
  metric("counter", "herald_messages_sent_total", "Channel-event frames handed to this node's sockets by fan-out.", ["app"], () => perApp((c) => c.messagesSent));
  metric("counter", "herald_sent_bytes_total", "Bytes of channel-event frames handed to this node's sockets by fan-out.", ["app"], () => perApp((c) => c.bytesSent));
  metric("counter", "herald_rate_limited_total", "Requests and events refused by an app's per-second limits, by kind.", ["app", "kind"], function* () {
    for (const app of sources.appIds()) {
      const c = counters.of(app);
      for (const kind of Object.keys(c.rateLimited) as RateLimitKind[]) yield [{ app, kind }, c.rateLimited[kind]];
    }
  });
  const perTransport = (read: (c: AppCounters) => Record<HttpTransport, number>) =>
    function* (): Iterable<Sample> {
      for (const app of sources.appIds()) {
        const byTransport = read(counters.of(app));
        for (const transport of Object.keys(byTransport) as HttpTransport[]) yield [{ app, transport }, byTransport[transport]];
      }
    };
  metric("gauge", "herald_http_sessions", "Open sessions of pusher-js's HTTP fallback (also counted in herald_connections), by transport.", ["app", "transport"], perTransport((c) => c.httpSessions));
  metric("counter", "herald_http_sessions_opened_total", "Sessions of pusher-js's HTTP fallback opened, by transport.", ["app", "transport"], perTransport((c) => c.httpSessionsOpened));
  metric("counter", "herald_buffered_events_total", "HTTP API events kept for a vacant channel (the app's vacantChannelBuffers), on this node.", ["app"], () =>
    perApp((c) => c.bufferedEvents));
  metric("counter", "herald_buffer_handovers_total", "Kept events handed to the subscriber that made their channel occupied again, counted once per hand-over.", ["app"], () =>
    perApp((c) => c.bufferHandovers));
  metric("counter", "herald_buffered_events_dropped_total", "Kept events thrown away: expired, over maxEvents, over the 10,000 buffered channels of an app, over --max-buffered-mb.", ["app", "reason"], function* () {
    for (const app of sources.appIds()) {
      const c = counters.of(app);
      for (const reason of Object.keys(c.bufferDropped) as BufferDropReason[]) yield [{ app, reason }, c.bufferDropped[reason]];
    }
  });
  metric("counter", "herald_http_requests_total", "HTTP API requests answered, by endpoint and status.", ["endpoint", "status"], function* () {
    for (const [endpoint, statuses] of counters.httpRequests) {
      for (const [status, count] of statuses) yield [{ endpoint, status: String(status) }, count];
    }
  });
  const webhookSamples = (read: (stats: WebhookStats) => number) =>
    function* (): Iterable<Sample> {
      for (const app of sources.appIds()) {
        const stats = sources.webhooks(app);
        if (stats) yield [{ app }, read(stats)];
      }
    };
  metric("counter", "herald_webhook_requests_total", "Webhook requests the receiver accepted (2xx).", ["app"], webhookSamples((s) => s.delivered));
  metric("counter", "herald_webhook_failures_total", "Webhook request attempts that failed (each is retried with backoff for 5 minutes).", ["app"], webhookSamples((s) => s.failed));
  metric("counter", "herald_webhook_events_dropped_total", "Webhook events lost: queue full, or delivery failing for 5 minutes.", ["app"], webhookSamples((s) => s.dropped));
  metric("gauge", "herald_webhook_queued_events", "Webhook events waiting, in flight or awaiting a retry.", ["app"], webhookSamples((s) => s.queued));
  // Only a cluster node has a Redis link: a single process shows no redis_* metrics
  // rather than a redis_up of 0 that reads like an outage.
  if (sources.redisLink() !== undefined) {
    const link = () => sources.redisLink()!;
    metric("gauge", "herald_redis_up", "1 while this node's Redis connection is usable, 0 while it is not.", [], () => [[{}, link().up ? 1 : 0]]);
    metric("gauge", "herald_redis_round_trip_seconds", "Round trip of the last cluster heartbeat to Redis.", [], () => {
      const seconds = link().roundTripSeconds;
      return seconds === undefined ? [] : [[{}, seconds]];
    });
    metric("counter", "herald_redis_messages_not_sent_total", "Messages the other nodes missed because Redis was unreachable.", [], () =>
      [[{}, link().messagesNotSent]]);
  }

  return {
    contentType: registry.contentType,
    async text() {
      return (await registry.metrics()) + histogramText("herald_publish_latency_seconds",
        "From an HTTP API publish arriving to its frames being handed to this node's sockets.", counters.publishLatency);
    },
  };
}

/**
 * The latency histogram is kept outside prom-client (an observation there costs
 * about 0.5 µs of label hashing per publish), so its exposition is written here.
 */
function histogramText(name: string, help: string, histogram: LatencyHistogram): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  let cumulative = 0;
  LATENCY_BUCKETS.forEach((bound, index) => {
    cumulative += histogram.counts[index]!;
    lines.push(`${name}_bucket{le="${bound}"} ${cumulative}`);
  });
  lines.push(`${name}_bucket{le="+Inf"} ${histogram.count}`, `${name}_sum ${histogram.sum}`, `${name}_count ${histogram.count}`);
  return `\n${lines.join("\n")}\n`;
}
