/**
 * The worker threads' hub beyond the shared contract suite: a thread that dies is
 * released as a dead node is, and a surviving thread reports it once (its members'
 * and users' departures the hub sends itself); a publish
 * reaches only the threads with subscribers of its channel.
 */
import { MessageChannel, Worker } from "node:worker_threads";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { AppRegistry } from "../src/apps/app-registry.js";
import { DEPARTURE_HOLD_MS } from "../src/channels/departure-hold.js";
import { joinCluster } from "../src/cluster/redis-cluster.js";
import { ThreadHub } from "../src/cluster/thread-hub.js";
import { NodeThreadHub } from "../src/cluster/thread-node-hub.js";
import { ThreadMesh } from "../src/cluster/thread-mesh.js";
import { threadNode } from "../src/cluster/thread-node.js";
import { ThreadOccupancy } from "../src/cluster/thread-occupancy.js";
import { ThreadSlots, ThreadTally } from "../src/cluster/thread-tally.js";
import { createLogger } from "../src/logger.js";
import { memberRemoved, watchlistEvents } from "../src/protocol/server-frames.js";
import { CONTRACT_APPS, startNode, threadSides } from "./helpers/cluster-contract.js";
import { SKIP_REDIS_TESTS, startRedis } from "./helpers/redis.js";

const HEARD = CONTRACT_APPS[0]!;

/** `count` thread nodes on one hub, as workers.ts wires them (no Redis). */
async function threadsOnAHub(count: number) {
  const threads = new ThreadOccupancy(ThreadOccupancy.buffer(count));
  const hub = new ThreadHub(1024 * 1024, threads);
  const nodes = await Promise.all(threadSides(hub, count, new ThreadSlots(count), threads).map((side) => startNode(side)));
  return { hub, nodes };
}

describe("the worker threads' hub", () => {
  it("releases a dead thread's subscribers, members and users, reported once by a surviving thread", { timeout: 15_000 }, async () => {
    const { hub, nodes: [survivor, doomed] } = await threadsOnAHub(2);
    try {
      survivor!.subscribe(HEARD, "shared");
      doomed!.subscribe(HEARD, "shared");
      doomed!.subscribe(HEARD, "doomed-alone");
      await survivor!.join(HEARD, "presence-room", "stays");
      await doomed!.join(HEARD, "presence-room", "goes");
      await doomed!.signIn(HEARD, "goes");
      await expect.poll(() => survivor!.services.occupancy.subscriptionCount(HEARD.id, "shared")).toBe(2);

      hub.forgetThread(1, 0);
      await expect
        .poll(() => survivor!.heard.filter((line) => line.startsWith("member_removed") || line.startsWith("vacated")), { timeout: DEPARTURE_HOLD_MS + 3000 })
        .toEqual(expect.arrayContaining(["member_removed heard presence-room goes", "vacated heard doomed-alone"]));
      // The member's and the user's departures reach the sockets from the hub itself, in order with its answers.
      expect(survivor!.delivered.filter((message) => message.channel === "presence-room").map((message) => message.frame)).toContain(memberRemoved("presence-room", "goes"));
      expect(survivor!.delivered.filter((message) => message.channel === "#watchers:goes").map((message) => message.frame)).toEqual([watchlistEvents("online", ["goes"]), watchlistEvents("offline", ["goes"])]);
      expect(survivor!.heard.filter((line) => line.includes("_gone"))).toEqual([]);
      expect(await survivor!.services.presence.userIds(HEARD.id, "presence-room")).toEqual(["stays"]);
      expect(await survivor!.services.occupancy.subscriptionCount(HEARD.id, "shared")).toBe(1);
      expect(await survivor!.services.onlineUsers.online(HEARD, ["goes"])).toEqual([]);
      expect(survivor!.heard.filter((line) => line.startsWith("vacated") || line.startsWith("member_removed"))).toEqual(
        expect.arrayContaining(["vacated heard doomed-alone", "member_removed heard presence-room goes"]),
      );
      expect(survivor!.heard.filter((line) => line.startsWith("vacated") || line.startsWith("member_removed"))).toHaveLength(2);
      expect(doomed!.heard.filter((line) => line.includes("goes") || line.includes("doomed-alone")).filter((line) => !line.startsWith("occupied") && !line.startsWith("member_added"))).toEqual([]);
    } finally {
      hub.stop();
    }
  });

  it("passes a publish and a member's announcement only to the threads with subscribers of its channel", async () => {
    const { hub, nodes: [publisher, other] } = await threadsOnAHub(2);
    const frames = (channel: string) => other!.delivered.filter((message) => message.channel === channel).map((message) => message.frame);
    const publish = (channel: string, frame: string) => publisher!.services.broker.publish({ appId: HEARD.id, channel, frame });
    try {
      other!.subscribe(HEARD, "marker");
      publish("quiet", "skipped");
      // The marker follows on the same port: had "skipped" been sent, it would be there first.
      publish("marker", "m1");
      await expect.poll(() => frames("marker")).toEqual(["m1"]);
      expect(frames("quiet")).toEqual([]);
      other!.subscribe(HEARD, "quiet");
      publish("quiet", "heard");
      await expect.poll(() => frames("quiet")).toEqual(["heard"]);
      other!.unsubscribe(HEARD, "quiet");
      publish("quiet", "skipped again");
      publish("marker", "m2");
      await expect.poll(() => frames("marker")).toEqual(["m1", "m2"]);
      expect(frames("quiet")).toEqual(["heard"]);
      // A member's announcement, through the hub, likewise; the second one is the marker.
      other!.subscribe(HEARD, "presence-marker");
      await publisher!.join(HEARD, "presence-quiet", "u1");
      await publisher!.join(HEARD, "presence-marker", "u2");
      await expect.poll(() => frames("presence-marker")).toEqual(["member_added u2"]);
      expect(frames("presence-quiet")).toEqual([]);
    } finally {
      hub.stop();
    }
  });

  it("answers a thread's questions of one callback together, each answer taken before the messages that follow it", async () => {
    const { hub, nodes: [node] } = await threadsOnAHub(1);
    const announced = () => node!.delivered.filter((message) => message.channel === "presence-together").length;
    try {
      // Three joins in one callback go as one message, and their answers come back in one, each behind its
      // member's announcement: [added u1, answer, added u2, answer, added u3, answer].
      const seen: number[] = [];
      await Promise.all(["u1", "u2", "u3"].map((userId) => node!.join(HEARD, "presence-together", userId).then(() => seen.push(announced()))));
      // Each answer's callbacks (here, behind two awaits) ran before the next announcement was delivered.
      expect(seen).toEqual([1, 2, 3]);
    } finally {
      hub.stop();
    }
  });

  it("sends each member_added and member_removed itself, once, in the order it decided them (presence in order)", async () => {
    const { hub, nodes: [a, b] } = await threadsOnAHub(2);
    const frames = (node: typeof a) => node!.delivered.filter((message) => message.channel === "presence-ordered").map((message) => message.frame);
    try {
      expect(a!.services.presence.inOrder).toBe(true);
      await b!.join(HEARD, "presence-ordered", "stays");
      await a!.join(HEARD, "presence-ordered", "visits");
      await a!.join(HEARD, "presence-ordered", "visits");
      await a!.leave(HEARD, "presence-ordered", "visits");
      await expect.poll(() => frames(b)).toEqual(["member_added stays", "member_added visits"]);
      // The second tab is still in: nothing; its last socket leaves: member_removed, to the threads with subscribers.
      await a!.leave(HEARD, "presence-ordered", "visits");
      await expect.poll(() => frames(b)).toContain(memberRemoved("presence-ordered", "visits"));
      // Once: a later marker, through the same port, finds nothing else before it.
      await b!.join(HEARD, "presence-ordered", "marker");
      await expect.poll(() => frames(b)).toEqual(["member_added stays", "member_added visits", memberRemoved("presence-ordered", "visits"), "member_added marker"]);
      // Thread a has no subscriber left: it heard of neither.
      expect(frames(a)).toEqual(["member_added visits"]);
    } finally {
      hub.stop();
    }
  });

  it.skipIf(SKIP_REDIS_TESTS)("passes another node's publish only to the threads with subscribers of its channel, with --redis", async () => {
    const redis = await startRedis();
    const log = createLogger("silent");
    const target = { url: redis.url, sentinels: undefined, sentinelName: "mymaster", clusterNodes: undefined };
    const apps = new AppRegistry(CONTRACT_APPS);
    const slots = new ThreadSlots(2);
    const threads = new ThreadOccupancy(ThreadOccupancy.buffer(2));
    const hub = await NodeThreadHub.start((await joinCluster({ target, apps, log, numbers: 2 })).start, apps, slots, threads, log);
    const [quiet, listening] = await Promise.all(threadSides(hub, 2, slots, threads, true).map((side) => startNode(side)));
    const elsewhere = await startNode((await joinCluster({ target, apps: new AppRegistry(CONTRACT_APPS), log })).start);
    const frames = (node: typeof quiet, channel: string) => node!.delivered.filter((message) => message.channel === channel).map((message) => message.frame);
    try {
      quiet!.subscribe(HEARD, "quiet");
      listening!.subscribe(HEARD, "marker");
      elsewhere.services.broker.publish({ appId: HEARD.id, channel: "quiet", frame: "for the quiet thread" });
      // Over Redis and then the hub's port to each thread in order: the marker comes after.
      elsewhere.services.broker.publish({ appId: HEARD.id, channel: "marker", frame: "m" });
      await expect.poll(() => frames(listening, "marker"), { timeout: 5000 }).toEqual(["m"]);
      await expect.poll(() => frames(quiet, "quiet"), { timeout: 5000 }).toEqual(["for the quiet thread"]);
      expect(frames(listening, "quiet")).toEqual([]);
    } finally {
      await elsewhere.services.close();
      await hub.stop();
      await redis.kill();
    }
  });
  it.skipIf(SKIP_REDIS_TESTS)("gives a thread started in place of one that died none of the answers its predecessor was waiting for, with --redis", async () => {
    const redis = await startRedis();
    const log = createLogger("silent");
    const target = { url: redis.url, sentinels: undefined, sentinelName: "mymaster", clusterNodes: undefined };
    const apps = new AppRegistry(CONTRACT_APPS);
    const hub = await NodeThreadHub.start((await joinCluster({ target, apps, log, numbers: 2 })).start, apps, new ThreadSlots(2), new ThreadOccupancy(ThreadOccupancy.buffer(2)), log);
    const pauser = new Redis(redis.url);
    /** Thread 1's side of a new port to the hub, and the replies it gets. */
    const attach = () => {
      const channel = new MessageChannel();
      hub.attach(1, channel.port1);
      const replies: Array<{ id: number; value?: unknown }> = [];
      channel.port2.on("message", (batch: unknown) => {
        for (const message of [batch].flat() as Array<{ t?: string; id: number } | string>) {
          if (typeof message === "string") replies.push({ id: Number(message.slice(1, message.indexOf("\n"))) });
          else if (message.t === "reply") replies.push(message);
        }
      });
      return { port: channel.port2, replies };
    };
    try {
      const first = attach();
      // Redis holds every command for a second: the hub's read for thread 1 waits on it.
      await pauser.call("CLIENT", "PAUSE", "1000", "ALL");
      first.port.postMessage({ t: "ask", id: 1, question: { t: "cacheWithJoin", appId: HEARD.id, channel: "cache-before" } });
      // Answered without Redis (no such member): once it is here, the hub has sent the read.
      first.port.postMessage({ t: "ask", id: 2, question: { t: "leave", heard: false, appId: HEARD.id, channel: "presence-nobody", userId: "nobody" } });
      await expect.poll(() => first.replies.map(({ id }) => id)).toEqual([2]);
      // Thread 1 dies and another starts in its place, whose questions are numbered from 1 again.
      hub.forgetThread(1, 0);
      const second = attach();
      second.port.postMessage({ t: "ask", id: 1, question: { t: "cacheWithJoin", appId: HEARD.id, channel: "cache-after" } });
      // Redis answers in order: by the time the second thread's own answer is here, the first's would be too.
      await expect.poll(() => second.replies.length, { timeout: 5000 }).toBeGreaterThan(0);
      expect(second.replies).toEqual([{ t: "reply", id: 1, value: undefined }]);
      first.port.close();
      second.port.close();
    } finally {
      pauser.disconnect();
      await hub.stop();
      await redis.kill();
    }
  });

  it("lets a thread start when a thread it waits to be greeted by has failed and lingers", async () => {
    const threads = new ThreadOccupancy(ThreadOccupancy.buffer(2));
    const hub = new ThreadHub(1024 * 1024, threads);
    const slots = new ThreadSlots(2);
    const appSlots = slots.assign(CONTRACT_APPS.map((app) => app.id));
    const mesh = new ThreadMesh();
    // Thread 0, a real thread, takes its hub messages (the port to thread 1 among them) but never
    // greets, and lingers, as a thread that failed to start lingers for its idle connections.
    const first = new MessageChannel();
    const failed = new Worker('const { hub } = require("node:worker_threads").workerData; hub.on("message", () => {}); setTimeout(() => {}, 60_000);', {
      eval: true,
      workerData: { hub: first.port2 },
      transferList: [first.port2],
    });
    try {
      hub.attach(0, first.port1);
      mesh.join(0, first.port1);
      const second = new MessageChannel();
      hub.attach(1, second.port1);
      const peers = mesh.join(1, second.port1);
      const starting = startNode(threadNode(second.port2, new AppRegistry(CONTRACT_APPS), new ThreadTally(slots.buffer, 1, 2, appSlots), { peers, occupancy: { threads, thread: 1 } }));
      // Told thread 0 is gone (workers.ts says it when a thread fails or ends), it serves.
      mesh.leave(0);
      const node = await starting;
      node.subscribe(HEARD, "after");
      await expect.poll(() => node.services.occupancy.subscriptionCount(HEARD.id, "after")).toBe(1);
    } finally {
      await failed.terminate();
      hub.stop();
    }
  });
});
