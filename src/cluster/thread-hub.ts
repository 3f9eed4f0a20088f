/**
 * What Redis is to the nodes of a cluster, the hub is to the worker threads of one
 * process: it holds the shared facts (subscriber counts per thread, presence
 * members, online users, connection counts, cache channels' last events, vacant
 * channels' buffers) and passes each thread's notices to the others (publishes go
 * from thread to thread, thread-mesh.ts). It runs on the main thread and handles
 * one message at a time, so each operation is atomic. It sends every member_added
 * and member_removed itself, on each thread's one port, in order with its answers to
 * joins: a joining socket takes the channel's frames from its answer on, and its
 * list and what follows it neither miss nor repeat a member (Presence.inOrder).
 * So does it with each user's online and offline for the watchers (OnlineUsers.inOrder).
 * Departures are held here (DEPARTURE_HOLD_MS). Every transition goes to one thread,
 * the first alive, which reports it to webhooks if anyone hears the app then: one
 * thread's webhook batches keep the order the transitions happened in.
 */
import type { MessagePort } from "node:worker_threads";
import { CACHE_TTL_MS, type CachedEvent } from "../channels/channel-cache.js";
import { DEPARTURE_HOLD_MS, DepartureHold } from "../channels/departure-hold.js";
import { watchersChannel } from "../protocol/channel-names.js";
import { memberRemoved as memberRemovedFrame, watchlistEvents } from "../protocol/server-frames.js";
import type { BufferDropReason } from "./cluster.js";
import { LocalChannelBuffers } from "./local-channel-buffers.js";
import { type Batch, eachOf, PortBatch } from "./port-batch.js";
import { CountBarrier } from "./thread-counts.js";
import type { ThreadOccupancy } from "./thread-occupancy.js";
import { ThreadMembers } from "./thread-members.js";
import { SettleBarrier } from "./thread-settle.js";
import { ThreadSubscriberCounts } from "./thread-subscriber-counts.js";
import { type Answers, type Ask, askFromString, encodeForThreads, isChannelMessage, joinReply, reply, type ThreadNotice, type ThreadQuestion, type ToHub, type ToThread, type Transition } from "./thread-wire.js";

const key = (...parts: string[]) => parts.join("\n");

/**
 * Questions whose answers the hub's next message waits for (eachOf). A presence join or leave,
 * asked as a string, is answered at once with nothing left to run, so a turn's joins are
 * answered together, in one message (joinReply).
 */
const settles = (message: ToHub): boolean => typeof message !== "string" && message.t === "ask";

export class ThreadHub {
  private readonly ports = new Map<number, MessagePort>();
  /** What goes to each thread, the answers to a batch of its questions together (PortBatch). */
  private readonly out = new Map<number, PortBatch<ToThread>>();
  /** Per thread, the lists its last join's answer held, while that answer waits in `out` (joinReply). */
  private readonly lastLists = new Map<number, { flushes: number; generation: number; count: number }>();
  private readonly subs = new ThreadSubscriberCounts();
  private readonly members = new ThreadMembers();
  /** "app\nuser" → threads with a signed-in socket of the user. */
  private readonly online = new Map<string, Set<number>>();
  private readonly cache = new Map<string, CachedEvent>();
  private readonly vacating = new DepartureHold(DEPARTURE_HOLD_MS);
  private readonly leaving = new DepartureHold(DEPARTURE_HOLD_MS);
  private readonly buffers: LocalChannelBuffers;
  private readonly settling = new SettleBarrier(
    () => this.ports.keys(),
    () => Promise.all([this.vacating.settled(), this.leaving.settled()]),
  );
  /** Buffer drops found while answering one thread's question go to that thread. */
  private dropsTo: number | undefined;
  private readonly counts: CountBarrier;

  /** `occupancy`: which threads have subscribers of a channel, for a member's announcement. */
  constructor(
    maxBufferedBytes: number,
    private readonly occupancy: ThreadOccupancy,
  ) {
    this.counts = new CountBarrier(occupancy, (thread) => this.send(thread, { t: "sendCounts" }));
    this.buffers = new LocalChannelBuffers(
      (appId, channel) => this.subs.threads(appId, channel) > 0,
      (appId, reason, count) => this.dropped(appId, reason, count),
      maxBufferedBytes,
    );
  }

  /** Serves thread `thread` over `port`. */
  attach(thread: number, port: MessagePort): void {
    this.ports.set(thread, port);
    this.out.set(thread, new PortBatch(port));
    port.on("message", (batch: Batch<ToHub>) => eachOf(batch, (message) => this.receive(thread, message), settles));
  }

  /**
   * A thread died: what its sockets held is released as for a dead node; its members' and
   * users' departures go from here to the sockets, and the first thread alive reports the
   * transitions (the hub of a Redis node has `reporter` tell its users').
   */
  forgetThread(dead: number, _reporter: number): void {
    this.ports.get(dead)?.close();
    this.ports.delete(dead);
    this.out.delete(dead);
    this.lastLists.delete(dead);
    this.settling.check();
    this.counts.forget(dead);
    this.subs.forget(dead, (appId, channel, vacant) => {
      if (vacant) this.vacating.hold(key(appId, channel), () => this.transition({ kind: "vacated", appId, channel }));
    });
    this.members.forget(dead, (appId, channel, userId) => {
      this.memberRemoved(appId, channel, userId);
      this.leaving.hold(key(appId, channel, userId), () => this.transition({ kind: "memberRemoved", appId, channel, userId }));
    });
    for (const [entry, threads] of this.online) {
      if (!threads.delete(dead) || threads.size > 0) continue;
      this.online.delete(entry);
      const [appId, userId] = entry.split("\n") as [string, string];
      this.announce(appId, userId, "offline");
    }
  }

  stop(): void {
    this.vacating.stop();
    this.leaving.stop();
    this.buffers.stop();
    for (const port of this.ports.values()) port.close();
    this.ports.clear();
    this.out.clear();
  }

  private receive(thread: number, received: ToHub): void {
    // A publish: only with --redis (thread-node-hub.ts); here the threads pass publishes to each other.
    if (typeof received === "string" && isChannelMessage(received)) return;
    const message = typeof received === "string" ? askFromString(received) : received;
    if (message.t !== "ask") return this.notice(thread, message);
    const asker = this.out.get(thread);
    this.counts.whenAnswerable(message.question.t, () => this.ports.keys(), () => this.ask(thread, asker, message));
  }

  /** `asker`: the thread's port when it asked; a thread started in its place since numbers its questions afresh, and gets no answer of its predecessor's. */
  private ask(thread: number, asker: PortBatch<ToThread> | undefined, { id, question }: Ask): void {
    // Asked by a thread that died meanwhile (a read put off to the next turn): nobody to answer, nothing to do.
    if (this.out.get(thread) !== asker) return;
    if (question.t === "join") return this.replyTo(thread, asker, this.join(thread, id, question));
    this.dropsTo = thread;
    const value = this.answer(thread, question);
    this.dropsTo = undefined;
    if (value instanceof Promise) void value.then((answer) => this.replyTo(thread, asker, reply(id, question.t, answer)));
    else this.replyTo(thread, asker, reply(id, question.t, value));
  }

  private notice(thread: number, notice: ThreadNotice): void {
    switch (notice.t) {
      case "terminate":
      case "consoleEntry":
      case "consoleWatch":
        for (const [other, port] of this.out) if (other !== thread) port.postMessage(notice);
        return;
      case "counts":
        for (const [appId, channel, count, heard] of notice.counts) this.count(thread, appId, channel, count, heard);
        return this.counts.batchHandled(thread);
      case "cache": {
        const { appId, channel, frame, send } = notice;
        this.cache.set(key(appId, channel), { event: notice.event, data: notice.data, frame, expiresAt: Date.now() + CACHE_TTL_MS });
        // In order with the answers to cacheGet: a new subscriber's replay and the live events do not cross.
        if (send) this.occupancy.post(this.out, appId, channel, encodeForThreads({ appId, channel, frame, exceptSocketId: send.exceptSocketId }));
        return;
      }
    }
  }

  /** The answer to a question, or a promise of it (waiting for held departures, say). */
  private answer(thread: number, question: Exclude<ThreadQuestion, { t: "join" }>): Answers[ThreadQuestion["t"]] | Promise<Answers[ThreadQuestion["t"]]> {
    switch (question.t) {
      case "leave":
        return this.leave(thread, question.appId, question.channel, question.userId, question.heard);
      case "subscriptionCount":
        return this.subs.total(question.appId, question.channel);
      case "occupiedChannels":
        return this.subs.occupied(question.appId, question.prefix);
      case "members":
        return this.members.snapshot(question.appId, question.channel);
      case "cameOnline": {
        const threads = this.online.get(key(question.appId, question.userId)) ?? new Set<number>();
        this.online.set(key(question.appId, question.userId), threads.add(thread));
        if (threads.size > 1) return false;
        this.announce(question.appId, question.userId, "online");
        return true;
      }
      case "wentOffline": {
        const threads = this.online.get(key(question.appId, question.userId));
        if (!threads?.delete(thread)) return false;
        if (threads.size > 0) return false;
        this.online.delete(key(question.appId, question.userId));
        this.announce(question.appId, question.userId, "offline");
        return true;
      }
      case "online":
        return question.userIds.filter((userId) => this.online.has(key(question.appId, userId)));
      case "cacheGet":
      case "cacheWithJoin": {
        const cached = this.cache.get(key(question.appId, question.channel));
        if (cached && cached.expiresAt <= Date.now()) this.cache.delete(key(question.appId, question.channel));
        return cached && cached.expiresAt > Date.now() ? cached : undefined;
      }
      case "keep":
        return this.buffers.keepIfVacant({ id: question.appId }, question.channel, question.rule, question.frame);
      case "claim":
        return this.buffers.claim({ id: question.appId }, question.channel);
      case "waiting":
        return this.buffers.waiting(question.appId, question.channel);
      case "settled":
        return this.settling.ask(thread);
    }
  }

  /** A thread's own count of a channel's subscribers; the process's transitions go to the reporting thread. */
  private count(thread: number, appId: string, channel: string, count: number, heard: boolean): void {
    const before = this.subs.threads(appId, channel);
    this.subs.set(appId, channel, thread, count);
    const after = this.subs.threads(appId, channel);
    // When nobody hears of the app (no webhooks, no console), there is nothing to report, nor to
    // hold (and a stop need not wait for it), as on one thread (LocalOccupancy): no message wakes the reporter.
    if (!heard) return;
    if (before === 0 && after > 0 && !this.vacating.cancel(key(appId, channel))) this.transition({ kind: "occupied", appId, channel });
    if (before > 0 && after === 0) this.vacating.hold(key(appId, channel), () => this.transition({ kind: "vacated", appId, channel }));
  }

  /** The answer to join question `id`. */
  private join(thread: number, id: number, { appId, channel, userId, userInfo, limit, announce, heard }: Extract<ThreadQuestion, { t: "join" }>): ToThread {
    if (!this.members.has(appId, channel, userId) && this.members.count(appId, channel) >= limit) {
      return reply(id, "join", { ok: false, reason: `The presence channel already has ${limit} members, the most this app allows.` });
    }
    const added = this.members.add(appId, channel, userId, userInfo, thread);
    if (added) {
      // Back within the hold: subscribers hear of it, webhooks do not. An app nobody hears has
      // nothing to report, as on one thread (LocalPresence): no message wakes the reporter.
      if (heard && !this.leaving.cancel(key(appId, channel, userId))) this.transition({ kind: "memberAdded", appId, channel, userId });
      // Before any answer that follows: a socket answered later has the user in its members.
      // Only to threads with sockets in the channel, the asking one among them (it counted its socket first).
      this.occupancy.post(this.out, appId, channel, announce);
    }
    // After the thread's last answer of this message, the members added since (its lists' generation permitting).
    const flushes = this.out.get(thread)?.flushes ?? 0;
    const last = this.lastLists.get(thread);
    const lists = this.members.lists(appId, channel, last?.flushes === flushes ? last : undefined);
    this.lastLists.set(thread, { flushes, generation: lists.generation, count: lists.count });
    return joinReply(id, added, lists);
  }

  private leave(thread: number, appId: string, channel: string, userId: string, heard: boolean): boolean {
    if (!this.members.remove(appId, channel, userId, thread)) return false;
    this.memberRemoved(appId, channel, userId);
    if (heard) this.leaving.hold(key(appId, channel, userId), () => this.transition({ kind: "memberRemoved", appId, channel, userId }));
    return true;
  }

  /**
   * The user left the channel in the process: every thread with subscribers of it hears so from
   * here, in order with the joins' answers and member_added (the threads' presence is `inOrder`).
   */
  private memberRemoved(appId: string, channel: string, userId: string): void {
    this.occupancy.post(this.out, appId, channel, encodeForThreads({ appId, channel, frame: memberRemovedFrame(channel, userId) }));
  }

  /**
   * The user came online or went offline in the process: its watchers on every thread hear so
   * from here, before the answer that decided it and in order with the answers to `online`.
   */
  private announce(appId: string, userId: string, name: "online" | "offline"): void {
    const channel = watchersChannel(userId);
    this.occupancy.post(this.out, appId, channel, encodeForThreads({ appId, channel, frame: watchlistEvents(name, [userId]) }));
  }

  private transition(transition: Transition): void {
    const reporter = this.ports.keys().next().value;
    if (reporter !== undefined) this.send(reporter, { t: "transition", transition });
  }

  private dropped(appId: string, reason: BufferDropReason, count: number): void {
    // The sweep finds drops outside any question: any thread may count them.
    const thread = this.dropsTo ?? this.ports.keys().next().value;
    if (thread !== undefined) this.send(thread, { t: "dropped", appId, reason, count });
  }

  /** To the thread that asked, if it still runs: not to one started in its place. */
  private replyTo(thread: number, asker: PortBatch<ToThread> | undefined, message: ToThread): void {
    if (this.out.get(thread) === asker) asker?.postMessage(message);
  }

  private send(thread: number, message: ToThread): void {
    this.out.get(thread)?.postMessage(message);
  }
}
