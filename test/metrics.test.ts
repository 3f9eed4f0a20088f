/** GET /metrics on the ops port, read after real traffic from pusher-js, the SDK and raw sockets. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { freePort } from "./helpers/redis-server.js";
import { connected, pusherClient, RawClient, serverSdk, sleep, subscribed, type Pusher } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis } from "./helpers/redis.js";

/** Samples of the Prometheus text format, keyed by the line's name and labels as written. */
type Samples = Map<string, number>;

async function scrape(port: number): Promise<{ text: string; samples: Samples }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
  const text = await response.text();
  const samples: Samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { text, samples };
}

/** The metric names the shipped Grafana dashboard's queries use. */
function dashboardMetrics(): string[] {
  const dashboard = JSON.parse(readFileSync(resolve(import.meta.dirname, "../ops/grafana-dashboard.json"), "utf8")) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  const exprs = dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr);
  return [...new Set(exprs.flatMap((expr) => expr.match(/\b(herald|process|nodejs)_[a-z0-9_]+/g) ?? []))];
}

/** Whether the exposition declares `name` (a histogram's _bucket, _sum and _count by its base name). */
function exported(text: string, name: string): boolean {
  const base = name.replace(/_(bucket|sum|count)$/, "");
  return new RegExp(`^# TYPE (${name}|${base}) `, "m").test(text);
}

async function startWithMetrics(apps: AppConfig[], args: string[] = []): Promise<{ herald: Herald; metricsPort: number }> {
  const metricsPort = await freePort();
  const herald = await startHerald({ apps, args: ["--metrics-port", String(metricsPort), ...args] });
  return { herald, metricsPort };
}

const LIMITED: AppConfig = { id: "limited", key: "limited-key", secret: "limited-secret", maxBackendEventsPerSecond: 1 } as AppConfig;
/** A webhook to a port nobody listens on: every attempt fails at once. */
const HOOKED: AppConfig = { id: "hooked", key: "hooked-key", secret: "hooked-secret", webhooks: [{ url: "http://127.0.0.1:9/nobody", event_types: ["channel_occupied"] }] } as AppConfig;

describe("/metrics after real traffic", () => {
  let herald: Herald;
  let metricsPort: number;
  const clients: Pusher[] = [];
  beforeAll(async () => {
    ({ herald, metricsPort } = await startWithMetrics([DEMO_APP, LIMITED, HOOKED]));
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await herald.stop();
  });

  it("counts connections, subscriptions by type, messages and bytes, API requests, latency, rate limits and webhook failures", { timeout: 15_000 }, async () => {
    for (let i = 0; i < 3; i++) clients.push(pusherClient(herald.port, DEMO_APP, { user: { user_id: `u${i}` } }));
    await Promise.all(clients.map(connected));
    await Promise.all(clients.map((client) => subscribed(client, "news")));
    // One after the other: joins at once may also tell a member of a user its list already has.
    for (const client of clients) await subscribed(client, "presence-room");
    await subscribed(clients[0]!, "private-orders");

    const leaver = pusherClient(herald.port, DEMO_APP);
    await connected(leaver);
    leaver.disconnect();

    const sdk = serverSdk(herald.port, DEMO_APP);
    await sdk.trigger("news", "headline", { title: "x".repeat(100) });
    await sdk.trigger("news", "headline", { title: "y" });
    await expect(serverSdk(herald.port, { ...DEMO_APP, secret: "wrong" }).trigger("news", "headline", {})).rejects.toMatchObject({ status: 401 });
    const limited = serverSdk(herald.port, LIMITED);
    const answers = await Promise.allSettled([limited.trigger("a", "e", {}), limited.trigger("a", "e", {}), limited.trigger("a", "e", {})]);
    const refused = answers.filter((answer) => answer.status === "rejected").length;
    expect(refused).toBeGreaterThan(0);

    const hooked = await RawClient.subscribed(herald.port, "occupy-me", HOOKED.key);
    // The webhook batch waits 250 ms, then its first attempt fails at once.
    await expect.poll(async () => (await scrape(metricsPort)).samples.get('herald_webhook_failures_total{app="hooked"}') ?? 0).toBeGreaterThanOrEqual(1);

    const { samples } = await scrape(metricsPort);
    const app = 'app="app-id"';
    expect(samples.get(`herald_connections{${app}}`)).toBe(3);
    expect(samples.get(`herald_connections_opened_total{${app}}`)).toBe(4);
    // pusher-js's disconnect() closes with 1000.
    expect(samples.get(`herald_connections_closed_total{${app},code="1000"}`)).toBe(1);
    expect(samples.get(`herald_subscriptions{${app},type="public"}`)).toBe(3);
    expect(samples.get(`herald_subscriptions{${app},type="presence"}`)).toBe(3);
    expect(samples.get(`herald_subscriptions{${app},type="private"}`)).toBe(1);
    // Two events to three subscribers each, and member_added to the 0, 1 and 2 members already present.
    expect(samples.get(`herald_messages_sent_total{${app}}`)).toBe(6 + 3);
    expect(samples.get(`herald_sent_bytes_total{${app}}`)).toBeGreaterThan(6 * 100);
    // Each subscribe (3 + 3 + 1) is a frame, plus whatever pings; the leaver sent none.
    expect(samples.get(`herald_messages_received_total{${app}}`)).toBeGreaterThanOrEqual(7);
    expect(samples.get(`herald_received_bytes_total{${app}}`)).toBeGreaterThan(7 * 40);
    expect(samples.get('herald_http_requests_total{endpoint="/events",status="200"}')).toBe(2 + answers.length - refused);
    expect(samples.get('herald_http_requests_total{endpoint="/events",status="401"}')).toBe(1);
    expect(samples.get('herald_http_requests_total{endpoint="/events",status="429"}')).toBe(refused);
    expect(samples.get('herald_rate_limited_total{app="limited",kind="backend_events"}')).toBe(refused);
    expect(samples.get('herald_publish_latency_seconds_count')).toBe(2 + answers.length - refused);
    expect(samples.get('herald_publish_latency_seconds_bucket{le="+Inf"}')).toBe(2 + answers.length - refused);
    expect(samples.get('herald_webhook_failures_total{app="hooked"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('herald_webhook_requests_total{app="hooked"}')).toBe(0);
    expect(samples.get('herald_webhook_queued_events{app="hooked"}')).toBe(1);
    // Process and event-loop metrics come from prom-client's defaults.
    expect(samples.get("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(samples.has("nodejs_eventloop_lag_seconds")).toBe(true);
    // No Redis, so no redis metrics rather than a misleading 0.
    expect([...samples.keys()].some((key) => key.startsWith("herald_redis"))).toBe(false);
    hooked.close();
  });

  it("never labels by channel or socket", async () => {
    const { text } = await scrape(metricsPort);
    expect(text).not.toMatch(/news|presence-room|private-orders|occupy-me/);
    for (const client of clients) expect(text).not.toContain(client.connection.socket_id);
    const labelNames = new Set([...text.matchAll(/[{,]([a-z_]+)="/g)].map((match) => match[1]));
    for (const name of ["channel", "socket_id", "socket", "user", "user_id"]) expect(labelNames).not.toContain(name);
  });

  it("serves only /metrics on the ops port, and nothing of it on the public port", async () => {
    expect((await fetch(`http://127.0.0.1:${metricsPort}/health`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${herald.port}/metrics`)).status).toBe(404);
  });

  it("exports every metric the Grafana dashboard graphs, but for the cluster's", async () => {
    const { text } = await scrape(metricsPort);
    const names = dashboardMetrics().filter((name) => !name.startsWith("herald_redis_"));
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) expect(exported(text, name), name).toBe(true);
  });
});

describe("slow consumers", () => {
  it("are closed with 4100 once their queued output passes half of --max-backpressure-kb, and counted", { timeout: 30_000 }, async () => {
    const big: AppConfig = { ...DEMO_APP, maxEventPayloadInKb: 100 } as AppConfig;
    // The once-a-second check closes a socket between half and all of the limit, so the
    // producer adds less than half of it per second: 40 events of 90 KB, 3.6 MB/s.
    const { herald, metricsPort } = await startWithMetrics([big], ["--max-backpressure-kb", "16384"]);
    try {
      const slow = await RawClient.subscribed(herald.port, "firehose");
      // Stop reading: the kernel buffers fill, then Herald's queue for this socket grows.
      (slow.ws as WebSocket & { _socket: { pause(): void } })._socket.pause();
      const sdk = serverSdk(herald.port, big);
      const payload = "z".repeat(90_000);
      const closed = async () => [...(await scrape(metricsPort)).samples].some(([key, value]) => key.startsWith("herald_connections_closed_total") && value > 0);
      for (let i = 0; i < 1000 && !(i % 20 === 0 && (await closed())); i++) {
        await Promise.all([sdk.trigger("firehose", "chunk", payload), sleep(25)]);
      }
      const { samples } = await scrape(metricsPort);
      expect(samples.get('herald_backpressure_closes_total{app="app-id"}')).toBe(1);
      expect(samples.get('herald_connections_closed_total{app="app-id",code="4100"}')).toBe(1);
      expect(samples.get('herald_connections{app="app-id"}')).toBe(0);
    } finally {
      await herald.stop();
    }
  });
});

describe.skipIf(SKIP_REDIS_TESTS)("/metrics on a cluster node", () => {
  it("shows the Redis link as up, with the heartbeat's round trip", { timeout: 15_000 }, async () => {
    const redis = await startRedis();
    const { herald, metricsPort } = await startWithMetrics([DEMO_APP], ["--redis", redis.url]);
    try {
      // The first heartbeat's round trip.
      await expect.poll(async () => (await scrape(metricsPort)).samples.get("herald_redis_round_trip_seconds") ?? 0).toBeGreaterThan(0);
      const { samples } = await scrape(metricsPort);
      expect(samples.get("herald_redis_up")).toBe(1);
      expect(samples.get("herald_redis_round_trip_seconds")).toBeLessThan(1);
      expect(samples.get("herald_redis_messages_not_sent_total")).toBe(0);
      const { text } = await scrape(metricsPort);
      for (const name of dashboardMetrics().filter((metric) => metric.startsWith("herald_redis_"))) expect(exported(text, name), name).toBe(true);
    } finally {
      await herald.stop();
      await redis.kill();
    }
  });
});

describe("the ops port", () => {
  it("refuses to start on a port already taken, naming the flag", async () => {
    const { herald, metricsPort } = await startWithMetrics([DEMO_APP]);
    try {
      const second = await startHerald({ args: ["--metrics-port", String(metricsPort)] }).catch((error: Error) => error);
      expect(String(second)).toMatch(/--metrics-port/);
    } finally {
      await herald.stop();
    }
  });
});
