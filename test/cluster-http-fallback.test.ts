/**
 * The HTTP fallback on a cluster, behind a real nginx and a real HAProxy that route
 * each session's requests to one node by its {server}/{session} path segments (the
 * README's configurations): sessions on either node hear what either publishes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextCall, pusherClient, serverSdk, subscribed, type Pusher } from "./helpers/clients.js";
import { useTwoNodes } from "./helpers/cluster-nodes.js";
import { DEMO_APP } from "./helpers/herald.js";
import { startHaproxy, startNginx, type Proxy } from "./helpers/proxies.js";
import { SKIP_REDIS_TESTS } from "./helpers/redis.js";

const cluster = useTwoNodes();
const proxies: Record<string, Proxy> = {};
beforeAll(async () => {
  if (SKIP_REDIS_TESTS) return;
  const nodes = [cluster.nodeA.port, cluster.nodeB.port];
  [proxies.nginx, proxies.haproxy] = await Promise.all([startNginx(nodes), startHaproxy(nodes)]);
});
afterAll(async () => {
  await Promise.all(Object.values(proxies).map((proxy) => proxy.stop()));
});

describe.skipIf(SKIP_REDIS_TESTS).each(["nginx", "haproxy"])("the HTTP fallback on a cluster behind %s", (proxyName) => {
  it.each(["xhr_streaming", "xhr_polling"] as const)("keeps %s sessions on their node, and delivers through either node", { timeout: 20_000 }, async (transport) => {
    // Enough sessions that both nodes hold some (the hash spreads them).
    const clients: Pusher[] = Array.from({ length: 6 }, (_, n) => pusherClient(proxies[proxyName]!.port, DEMO_APP, { transport, user: { user_id: `u${n}` } }));
    const room = `presence-fallback-${transport}-${proxyName}`;
    try {
      await Promise.all(clients.map((client) => subscribed(client, room)));
      for (const [n, node] of [cluster.nodeA, cluster.nodeB].entries()) {
        const heard = clients.map(() => nextCall<unknown>(5000));
        clients.forEach((client, index) => client.channel(room).bind(`from-${n}`, heard[index]!.callback));
        await serverSdk(node.port, DEMO_APP).trigger(room, `from-${n}`, { n });
        expect(await Promise.all(heard.map((call) => call.promise))).toEqual(clients.map(() => ({ n })));
      }
      // Every member comes to see all six, wherever its session lives.
      const members = clients[0]!.channel(room) as unknown as { members: { count: number } };
      await expect.poll(() => members.members.count).toBe(6);
    } finally {
      for (const client of clients) client.disconnect();
    }
  });
});
