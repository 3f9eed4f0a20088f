/**
 * Who arrives while Redis is away, and leaves after it is back but before its node wrote
 * it there again (the resync, two reconnect delays later; Redis kept its data). A member
 * was never reported as added, so it is not reported as removed either; the channel's
 * subscribers hear it come and go, and a signed-in user's watchers hear it go online and offline.
 */
import { describe, expect, it } from "vitest";
import { pusherClient, serverSdk, signedIn, subscribed } from "./helpers/clients.js";
import { FAST_TIMINGS_ENV, until, webhookEvents } from "./helpers/cluster-nodes.js";
import { startHerald, type AppConfig } from "./helpers/herald.js";
import { SKIP_REDIS_TESTS, startRedis } from "./helpers/redis.js";
import { startWebhookReceiver } from "./helpers/webhook-receiver.js";

describe.skipIf(SKIP_REDIS_TESTS)("arrivals during a Redis outage that leave before the resync", () => {
  it("reports neither the arrival nor the departure of such a member by webhook, and tells subscribers and watchers both", { timeout: 30_000 }, async () => {
    const durable = await startRedis({ persist: true });
    const receiver = await startWebhookReceiver();
    const hooked: AppConfig = { id: "ow-hooked", key: "ow-hooked-key", secret: "ow-hooked-secret", webhooks: [{ url: receiver.url, event_types: ["channel_occupied", "channel_vacated", "member_added", "member_removed"] }] };
    const node = await startHerald({ apps: [hooked], args: ["--redis", durable.url], env: FAST_TIMINGS_ENV });
    try {
      const stays = pusherClient(node.port, hooked, { user: { user_id: "stays" }, signinAs: { id: "stays", watchlist: ["ghost"] } });
      await Promise.all([subscribed(stays, "presence-ow"), signedIn(stays)]);
      const seen: string[] = [];
      stays.channel("presence-ow").bind("pusher:member_added", ({ id }: { id: string }) => seen.push(`added ${id}`));
      stays.channel("presence-ow").bind("pusher:member_removed", ({ id }: { id: string }) => seen.push(`removed ${id}`));
      for (const status of ["online", "offline"]) stays.user.watchlist.bind(status, ({ user_ids }: { user_ids: string[] }) => seen.push(`${status} ${user_ids.join()}`));
      const before = ["channel_occupied presence-ow", "member_added presence-ow stays"];
      await expect.poll(() => webhookEvents(receiver, hooked, node.port), { timeout: 5000 }).toEqual(before);

      await durable.kill();
      await until(() => node.logs.some((line) => line.msg.includes("is unreachable")), "the outage");
      const ghost = pusherClient(node.port, hooked, { user: { user_id: "ghost" }, signinAs: { id: "ghost" } });
      await Promise.all([subscribed(ghost, "presence-ow"), signedIn(ghost)]);
      await expect.poll(() => [...seen].sort(), { timeout: 5000 }).toEqual(["added ghost", "online ghost"]);
      await durable.start();
      // From this line the node writes to Redis again; its members follow two reconnect delays (2 s here) later.
      await until(() => node.logs.some((line) => line.msg.includes("channel counts to Redis again")), "the node to write to Redis again");
      ghost.disconnect();
      await expect.poll(() => [...seen].sort(), { timeout: 5000 }).toEqual(["added ghost", "offline ghost", "online ghost", "removed ghost"]);

      // The later marker: a channel occupied after the resync, which is after the ghost's departure hold (0.5 s).
      await until(() => node.logs.some((line) => line.msg.includes("presence members written to Redis again")), "the resync", 10_000);
      const marker = pusherClient(node.port, hooked);
      await subscribed(marker, "ow-marker");
      await expect.poll(() => webhookEvents(receiver, hooked, node.port).includes("channel_occupied ow-marker"), { timeout: 5000 }).toBe(true);
      expect(webhookEvents(receiver, hooked, node.port).filter((event) => event.startsWith("member"))).toEqual(["member_added presence-ow stays"]);
      expect(await (await serverSdk(node.port, hooked).get({ path: "/channels/presence-ow/users" })).json()).toEqual({ users: [{ id: "stays" }] });
      for (const open of [stays, marker]) open.disconnect();
    } finally {
      await node.stop();
      await durable.kill();
      await receiver.close();
    }
  });
});
