/**
 * The hub of a process whose worker threads are together one node of a Redis
 * cluster (--workers with --redis). It speaks to the threads as thread-hub.ts
 * does (thread-wire.ts), but keeps only which thread holds what; the shared facts
 * are the Redis node's (redis-cluster.ts), which it runs here, on the main thread,
 * as the process's one node. To that node the hub is the node's own side
 * (ClusterParts): its channels are the threads' counts summed, its sockets theirs.
 *
 * So the process is one node to the others (one number, one liveness, one set of
 * Redis connections), its threads share a publish in memory, not through Redis,
 * and they keep hearing each other while Redis is away.
 */
import type { MessagePort } from "node:worker_threads";
import type { AppRegistry } from "../apps/app-registry.js";
import type { App } from "../apps/app.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import { REMOTE_WATCH_MS } from "../console/tap.js";
import type { Logger } from "../logger.js";
import type { ChannelMessage, ClusterParts, ClusterServices, StartCluster } from "./cluster.js";
import { type Batch, eachOf, PortBatch } from "./port-batch.js";
import { ThreadMembers } from "./thread-members.js";
import { SettleBarrier } from "./thread-settle.js";
import { ThreadSubscriberCounts } from "./thread-subscriber-counts.js";
import { CountBarrier } from "./thread-counts.js";
import type { ThreadOccupancy } from "./thread-occupancy.js";
import type { ThreadSlots } from "./thread-tally.js";
import { type Answers, type Ask, askFromString, decodeFromThreads, encodeForThreads, isChannelMessage, isQuestion, reply, type ThreadNotice, type ThreadQuestion, type ToHub, type ToThread } from "./thread-wire.js";

const key = (...parts: string[]) => parts.join("\n");
/** How soon the threads' /ready (and /metrics) follow the node's link to Redis. */
const NODE_CHECK_MS = 250;


export class NodeThreadHub {
  private readonly ports = new Map<number, MessagePort>();
  /** What goes to each thread, the answers to a batch of its questions together (PortBatch). */
  private readonly out = new Map<number, PortBatch<ToThread>>();
  private readonly subs = new ThreadSubscriberCounts();
  private readonly members = new ThreadMembers();
  /** "app\nuser" → threads with a signed-in socket of the user. */
  private readonly online = new Map<string, Set<number>>();
  /** Apps a console on some thread watches, until when: they are heard. */
  private readonly watched = new Map<string, number>();
  /** The thread whose terminate the node is delivering: it has done it for its own sockets. */
  private origin: number | undefined;
  /** While the node publishes a thread's message: for the other nodes only, as the threads pass it to each other (thread-mesh.ts). */
  private publishingForThreads = false;
  private node!: ClusterServices;
  private readonly settling = new SettleBarrier(
    () => this.ports.keys(),
    () => this.node.settled(),
  );
  /** What the threads last heard of the node, to tell them only changes. */
  private told = "";
  private nodeCheck: NodeJS.Timeout | undefined;
  private readonly counts: CountBarrier;

  private constructor(
    private readonly apps: AppRegistry,
    private readonly slots: ThreadSlots,
    private readonly occupancy: ThreadOccupancy,
    private readonly log: Logger,
  ) {
    this.counts = new CountBarrier(occupancy, (thread) => this.send(thread, { t: "sendCounts" }));
  }

  /** Starts the process's node with `start` (a Redis membership's), the hub as its own side. */
  static async start(start: StartCluster, apps: AppRegistry, slots: ThreadSlots, occupancy: ThreadOccupancy, log: Logger): Promise<NodeThreadHub> {
    const hub = new NodeThreadHub(apps, slots, occupancy, log);
    hub.node = await start(hub.parts());
    hub.nodeCheck = setInterval(() => hub.tellChanges(), NODE_CHECK_MS);
    hub.nodeCheck.unref();
    return hub;
  }

  attach(thread: number, port: MessagePort): void {
    this.ports.set(thread, port);
    this.out.set(thread, new PortBatch(port));
    port.on("message", (batch: Batch<ToHub>) => eachOf(batch, (message) => this.receive(thread, message), isQuestion));
    this.tellNode(thread);
  }

  /** A thread died: what its sockets held leaves the node, as if they had closed; `reporter` tells the sockets. */
  forgetThread(dead: number, reporter: number): void {
    this.ports.get(dead)?.close();
    this.ports.delete(dead);
    this.out.delete(dead);
    this.settling.check();
    this.counts.forget(dead);
    this.subs.forget(dead, (appId, channel) => {
      const app = this.apps.byId(appId);
      if (app) this.node.occupancy.changed(app, channel, false);
    });
    this.members.forget(dead, (appId, channel, userId) => {
      const app = this.apps.byId(appId);
      if (app) void Promise.resolve(this.node.presence.leave(app, channel, userId)).then((left) => left && this.send(reporter, { t: "memberGone", appId, channel, userId }));
    });
    for (const [entry, threads] of this.online) {
      if (!threads.delete(dead) || threads.size > 0) continue;
      this.online.delete(entry);
      const [appId, userId] = entry.split("\n") as [string, string];
      const app = this.apps.byId(appId);
      if (app) void Promise.resolve(this.node.onlineUsers.wentOffline(app, userId)).then((gone) => gone && this.send(reporter, { t: "userGone", appId, userId }));
    }
  }

  addApps(appIds: readonly string[]): Promise<void> {
    return this.node.addApps(appIds);
  }

  /**
   * The node's problem() for every thread's /ready, the other nodes' connections for
   * maxConnections, and its Redis link for the first thread's /metrics.
   */
  private tellNode(thread: number): void {
    const elsewhere = this.apps.ids.map((appId) => [appId, this.node.connectionCounts.elsewhere(appId)] as const).filter(([, count]) => count > 0);
    this.send(thread, { t: "node", problem: this.node.problem(), link: thread === 0 ? this.node.redisLink() : undefined, elsewhere });
  }

  private tellChanges(): void {
    // The node may report a change while it starts, before there is a node to ask.
    if (this.nodeCheck === undefined) return;
    const now = JSON.stringify([this.node.problem(), this.node.redisLink(), this.apps.ids.map((appId) => this.node.connectionCounts.elsewhere(appId))]);
    if (now === this.told) return;
    this.told = now;
    for (const thread of this.ports.keys()) this.tellNode(thread);
  }

  async stop(): Promise<void> {
    clearInterval(this.nodeCheck);
    for (const port of this.ports.values()) port.close();
    this.ports.clear();
    this.out.clear();
    await this.node.close();
  }

  /** The node's own side: the threads, summed. */
  private parts(): ClusterParts {
    const everyThreadBut = (origin: number | undefined, message: ToThread) => {
      for (const [thread, port] of this.out) if (thread !== origin) port.postMessage(message);
    };
    const forApp = (appId: string) => ({
      subscriptionCount: (channel: string) => this.subs.total(appId, channel),
      occupiedChannels: (prefix: string) => this.subs.occupied(appId, prefix),
      presenceSnapshot: (channel: string) => this.members.snapshot(appId, channel),
    });
    return {
      local: {
        deliver: (message) => {
          // Only to the threads with subscribers of the channel: it was published on another node (or is a member's announcement).
          if (this.publishingForThreads) return;
          this.occupancy.post(this.out, message.appId, message.channel, encodeForThreads(message));
        },
        terminateUser: (appId, userId) => everyThreadBut(this.origin, { t: "terminate", appId, userId }),
        signedInUsers: () => [...this.online.keys()].map((entry) => entry.split("\n") as [string, string]),
        hasUser: (appId, userId) => this.online.has(key(appId, userId)),
        connections: (appId) => this.slots.connections(appId),
      },
      // The Redis node reads these three of its node's channels; the threads hold the rest.
      channels: { forApp } as unknown as ChannelDirectory,
      consoles: {
        received: (appId, entryJson) => everyThreadBut(undefined, { t: "consoleEntry", appId, entryJson }),
        watchedElsewhere: (appIds) => everyThreadBut(undefined, { t: "consoleWatch", appIds }),
      },
      events: {
        heard: (app) => app.webhooks.length > 0 || (this.watched.get(app.id) ?? 0) > Date.now(),
        // Reported by one thread, which has the webhooks and the console tap.
        channelOccupied: (app, channel) => this.report({ t: "transition", transition: { kind: "occupied", appId: app.id, channel } }),
        channelVacated: (app, channel) => this.report({ t: "transition", transition: { kind: "vacated", appId: app.id, channel } }),
        memberAdded: (app, channel, userId) => this.report({ t: "transition", transition: { kind: "memberAdded", appId: app.id, channel, userId } }),
        memberRemoved: (app, channel, userId) => this.report({ t: "transition", transition: { kind: "memberRemoved", appId: app.id, channel, userId } }),
        memberCame: (app, channel, userId, userInfo) => this.report({ t: "memberCame", appId: app.id, channel, userId, userInfo }),
        memberGone: (app, channel, userId) => this.report({ t: "memberGone", appId: app.id, channel, userId }),
        userCame: (app, userId) => this.report({ t: "userCame", appId: app.id, userId }),
        userGone: (app, userId) => this.report({ t: "userGone", appId: app.id, userId }),
      },
      bufferDrops: (appId, reason, count) => this.report({ t: "dropped", appId, reason, count }),
      // Before the change is logged: the threads' /ready turns with the log line, not after it.
      problemChanged: () => this.tellChanges(),
    };
  }

  /** A thread's publish, for the other nodes: the process's threads have it already (thread-mesh.ts). */
  private publishForThreads(message: ChannelMessage): void {
    this.publishingForThreads = true;
    try {
      this.node.broker.publish(message);
    } finally {
      this.publishingForThreads = false;
    }
  }

  private receive(thread: number, received: ToHub): void {
    if (typeof received === "string" && isChannelMessage(received)) return this.publishForThreads(decodeFromThreads(received));
    const message = typeof received === "string" ? askFromString(received) : received;
    if (message.t !== "ask") return this.notice(thread, message);
    // The threads' counts in first: the node's then go to Redis before the read.
    const asker = this.out.get(thread);
    this.counts.whenAnswerable(message.question.t, () => this.ports.keys(), () => this.ask(thread, asker, message));
  }

  /** `asker`: the thread's port when it asked; a thread started in its place since numbers its questions afresh, and gets no answer of its predecessor's. */
  private ask(thread: number, asker: PortBatch<ToThread> | undefined, { id, question }: Ask): void {
    // Asked by a thread that died meanwhile (a read put off until the counts are in): nobody to answer, nothing to do.
    if (this.out.get(thread) !== asker) return;
    let answer: Promise<unknown>;
    try {
      answer = Promise.resolve(this.answer(thread, question));
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (value) => this.replyTo(thread, asker, reply(id, question.t, value)),
      // Redis away: the thread's caller gets the rejection it would get from Redis itself.
      (error: unknown) => this.replyTo(thread, asker, { t: "reply", id, value: undefined, error: error instanceof Error ? error.message : String(error) }),
    );
  }

  private notice(thread: number, notice: ThreadNotice): void {
    switch (notice.t) {
      case "terminate":
        this.origin = thread;
        try {
          this.node.broker.terminateUser(notice.appId, notice.userId);
        } finally {
          this.origin = undefined;
        }
        return;
      case "consoleEntry":
        for (const [other, port] of this.out) if (other !== thread) port.postMessage(notice);
        return this.node.consoleRelay.publish(notice.appId, notice.entryJson);
      case "consoleWatch":
        for (const appId of notice.appIds) this.watched.set(appId, Date.now() + REMOTE_WATCH_MS);
        for (const [other, port] of this.out) if (other !== thread) port.postMessage(notice);
        return this.node.consoleRelay.announce(notice.appIds);
      case "counts":
        for (const [appId, channel, count] of notice.counts) this.count(thread, appId, channel, count);
        return this.counts.batchHandled(thread);
      case "cache":
        return this.node.eventCache.set(notice.appId, notice.channel, notice.event, notice.data, notice.frame);
    }
  }

  /** Calls the node at once, so its Redis commands keep the order the thread's messages came in. */
  private answer(thread: number, question: ThreadQuestion): Answers[ThreadQuestion["t"]] | Promise<Answers[ThreadQuestion["t"]]> {
    const { node } = this;
    if (question.t === "settled") return this.settling.ask(thread);
    if (question.t === "subscriptionCount") return node.occupancy.subscriptionCount(question.appId, question.channel);
    if (question.t === "occupiedChannels") return node.occupancy.occupiedChannels(question.appId, question.prefix);
    if (question.t === "members") return node.presence.members(question.appId, question.channel);
    if (question.t === "waiting") return node.channelBuffers.waiting(question.appId, question.channel);
    if (question.t === "cacheGet" || question.t === "cacheWithJoin") return node.eventCache.get(question.appId, question.channel);
    const app = this.apps.byId(question.appId);
    switch (question.t) {
      case "join":
        return app ? this.join(thread, app, question.channel, question.userId, question.userInfo, decodeFromThreads(question.announce)) : { ok: false, reason: "This app is no longer served." };
      case "leave":
        return app ? this.leave(thread, app, question.channel, question.userId) : false;
      case "cameOnline": {
        const entry = key(question.appId, question.userId);
        const threads = this.online.get(entry) ?? new Set<number>();
        this.online.set(entry, threads.add(thread));
        return threads.size === 1 && app ? node.onlineUsers.cameOnline(app, question.userId) : false;
      }
      case "wentOffline": {
        const entry = key(question.appId, question.userId);
        const threads = this.online.get(entry);
        if (!threads?.delete(thread) || threads.size > 0) return false;
        this.online.delete(entry);
        return app ? node.onlineUsers.wentOffline(app, question.userId) : false;
      }
      case "online":
        return app ? node.onlineUsers.online(app, question.userIds) : [];
      case "keep":
        return app ? node.channelBuffers.keepIfVacant(app, question.channel, question.rule, question.frame) : false;
      case "claim":
        return app ? node.channelBuffers.claim(app, question.channel) : [];
    }
  }

  private count(thread: number, appId: string, channel: string, count: number): void {
    const before = this.subs.set(appId, channel, thread, count);
    const app = this.apps.byId(appId);
    if (app) this.node.occupancy.changed(app, channel, count > before);
  }

  private join(thread: number, app: App, channel: string, userId: string, userInfo: unknown, announce: ChannelMessage): Answers["join"] | Promise<Answers["join"]> {
    const firstInProcess = this.members.add(app.id, channel, userId, userInfo, thread);
    // The node announces through its own side, every thread (this one too), before its answer.
    const joined = this.node.presence.join(app, channel, userId, userInfo, firstInProcess, () => this.members.data(app.id, channel), announce);
    return Promise.resolve(joined).then((answer) => {
      // Full elsewhere: this thread's part of the join is undone, as the thread undoes its own.
      if (!answer.ok) this.members.remove(app.id, channel, userId, thread);
      return answer;
    });
  }

  private leave(thread: number, app: App, channel: string, userId: string): boolean | Promise<boolean> {
    return this.members.remove(app.id, channel, userId, thread) ? this.node.presence.leave(app, channel, userId) : false;
  }

  /** To one thread, which has the webhooks, the tap and the broker to announce with. */
  private report(message: Exclude<ToThread, string>): void {
    const first = this.out.values().next().value;
    if (first) first.postMessage(message);
    else this.log.debug({ message: message.t }, "no worker thread to report to");
  }

  /** To the thread that asked, if it still runs: not to one started in its place. */
  private replyTo(thread: number, asker: PortBatch<ToThread> | undefined, message: ToThread): void {
    if (this.out.get(thread) === asker) asker?.postMessage(message);
  }

  private send(thread: number, message: ToThread): void {
    this.out.get(thread)?.postMessage(message);
  }
}
