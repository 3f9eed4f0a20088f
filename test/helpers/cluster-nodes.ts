/**
 * Two Herald nodes on a throwaway Redis, with the apps the cluster tests use and a
 * webhook receiver: one set per test file, so the files run side by side.
 */
import { afterAll, beforeAll, expect } from "vitest";
import { serverSdk, sleep, type Pusher } from "./clients.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./herald.js";
import { SKIP_REDIS_TESTS, startRedis, type RedisServer } from "./redis.js";
import { startWebhookReceiver, type WebhookReceiver } from "./webhook-receiver.js";

export { FAST_TIMINGS, FAST_TIMINGS_ENV } from "./fast-timings.js";

export const counted: AppConfig = { id: "cl-counted", key: "cl-counted-key", secret: "cl-counted-secret", enableSubscriptionCount: true };
export const small: AppConfig = { id: "cl-small", key: "cl-small-key", secret: "cl-small-secret", maxPresenceMembersPerChannel: 2 };
export const quota: AppConfig = { id: "cl-quota", key: "cl-quota-key", secret: "cl-quota-secret", maxConnections: 2 };
export const buffering: AppConfig = {
  id: "cl-buffering",
  key: "cl-buffering-key",
  secret: "cl-buffering-secret",
  vacantChannelBuffers: [
    { channelPrefix: "kept-", ttlSeconds: 600, maxEvents: 1000 },
    { channelPrefix: "latest-", ttlSeconds: 600, maxEvents: 1 },
  ],
};

export interface TwoNodes {
  redis: RedisServer;
  nodeA: Herald;
  nodeB: Herald;
  receiver: WebhookReceiver;
  /** An app whose occupancy and member webhooks go to `receiver`. */
  hooked: AppConfig;
}


/** Starts the nodes before the file's tests and stops them after; read the fields inside tests. */
export function useTwoNodes(env: Record<string, string> = {}): TwoNodes {
  const nodes = {} as TwoNodes;
  beforeAll(async () => {
    if (SKIP_REDIS_TESTS) return;
    nodes.redis = await startRedis();
    nodes.receiver = await startWebhookReceiver();
    nodes.hooked = { id: "cl-hooked", key: "cl-hooked-key", secret: "cl-hooked-secret", webhooks: [{ url: nodes.receiver.url, event_types: ["channel_occupied", "channel_vacated", "member_added", "member_removed"] }] };
    const apps = [DEMO_APP, nodes.hooked, counted, small, quota, buffering];
    [nodes.nodeA, nodes.nodeB] = await Promise.all([
      startHerald({ apps, args: ["--redis", nodes.redis.url], env }),
      startHerald({ apps, args: ["--redis", nodes.redis.url], env }),
    ]);
  });
  afterAll(async () => {
    if (SKIP_REDIS_TESTS) return;
    await Promise.all([nodes.nodeA?.stop(), nodes.nodeB?.stop()]);
    await nodes.redis?.kill();
    await nodes.receiver?.close();
  });
  return nodes;
}

interface WebhookEvent {
  name: string;
  channel: string;
  user_id?: string;
}

/** The events `receiver` got so far for `app`, each request checked with the pusher SDK. */
function receivedEvents(receiver: WebhookReceiver, app: AppConfig, port: number): WebhookEvent[] {
  return receiver.received.flatMap((request) => {
    const webhook = serverSdk(port, app).webhook({ headers: request.headers as Record<string, string>, rawBody: request.rawBody });
    expect(webhook.isValid()).toBe(true);
    return webhook.getEvents() as unknown as WebhookEvent[];
  });
}

/** The occupancy and member webhooks `receiver` got so far for `app`, as "event channel [user]". */
export function webhookEvents(receiver: WebhookReceiver, app: AppConfig, port: number): string[] {
  return receivedEvents(receiver, app, port).map(({ name, channel, user_id }) => [name, channel, user_id].filter(Boolean).join(" "));
}

/** The channel webhooks received so far for `channel`. */
export function occupancyEvents(nodes: TwoNodes, channel: string): string[] {
  return receivedEvents(nodes.receiver, nodes.hooked, nodes.nodeA.port)
    .filter((event) => event.channel === channel)
    .map((event) => event.name);
}

/**
 * The channel's count as `node`'s API reads it from Redis. A node writes its counts there
 * just after its sockets hear subscription_succeeded: poll it, for longer than poll's
 * default 1 s, which a busy machine can take.
 */
export async function subscriptionCountOn(node: Herald, channel: string): Promise<number> {
  const response = await serverSdk(node.port, DEMO_APP).get({ path: `/channels/${channel}`, params: { info: "subscription_count" } });
  return ((await response.json()) as { subscription_count: number }).subscription_count;
}

/** Records every event a pusher-js client gets on a channel. */
export function record(client: Pusher, channel: string): Array<{ event: string; data: unknown }> {
  const seen: Array<{ event: string; data: unknown }> = [];
  client.channel(channel).bind_global((event: string, data: unknown) => {
    if (!event.startsWith("pusher")) seen.push({ event, data });
  });
  return seen;
}

export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
