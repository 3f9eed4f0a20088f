/**
 * The messages between worker threads and the hub on the main thread (thread-hub.ts,
 * thread-node.ts), over one MessagePort per thread. A port delivers in order, and
 * the hub handles each message whole before the next, so every hub operation is
 * atomic, as a Redis script is.
 */
import type { MessagePort } from "node:worker_threads";
import type { VacantChannelBuffer } from "../apps/app.js";
import type { CachedEvent } from "../channels/channel-cache.js";
import type { PresenceSnapshot } from "../channels/presence-channel.js";
import type { RedisLinkStats } from "../metrics/prometheus.js";
import { presenceData, type PresenceData } from "../protocol/server-frames.js";
import type { BufferDropReason, ChannelMessage, ClusterJoin } from "./cluster.js";

/**
 * A channel message as it crosses threads: one string, not an object, whose structured
 * clone pays for its shape on both sides (in isolation, back to back: 7.2 to 7.8 µs of
 * CPU per message as `{appId, channel, frame}`, 2.7 to 3.2 µs as one string; in B4 on
 * two threads the decoding takes most of that back, see bench/RESULTS.md).
 * App ids may hold any character, so the app's goes first, after its length; channel
 * names and socket ids cannot hold a newline; the frame, last, is left as it is.
 */
export type ThreadChannelMessage = string & { readonly channelMessage: true };

export function encodeForThreads({ appId, channel, exceptSocketId, frame }: ChannelMessage): ThreadChannelMessage {
  return `${appId.length}\n${appId}${channel}\n${exceptSocketId ?? ""}\n${frame}` as ThreadChannelMessage;
}

/** Only the threads write these, so it is trusted as written. */
export function decodeFromThreads(text: ThreadChannelMessage): ChannelMessage {
  const lengthEnd = text.indexOf("\n");
  const appEnd = lengthEnd + 1 + Number(text.slice(0, lengthEnd));
  const channelEnd = text.indexOf("\n", appEnd);
  const exceptEnd = text.indexOf("\n", channelEnd + 1);
  return {
    appId: text.slice(lengthEnd + 1, appEnd),
    channel: text.slice(appEnd, channelEnd),
    exceptSocketId: exceptEnd === channelEnd + 1 ? undefined : text.slice(channelEnd + 1, exceptEnd),
    frame: text.slice(exceptEnd + 1),
  };
}

/** Told without an answer. */
export type ThreadNotice =
  | { readonly t: "terminate"; readonly appId: string; readonly userId: string }
  /**
   * The thread's subscribers of each channel (thread-counts.ts): app, channel, count, and
   * whether anyone hears the app's transitions (departures of apps nobody hears are not held).
   */
  | { readonly t: "counts"; readonly counts: ReadonlyArray<readonly [appId: string, channel: string, count: number, heard: boolean]> }
  /** A cache channel's last event; with `send`, the hub hands it on to the threads with subscribers too (EventCache.publish). */
  | { readonly t: "cache"; readonly appId: string; readonly channel: string; readonly event: string; readonly data: string; readonly frame: string; readonly send?: { readonly exceptSocketId: string | undefined } }
  /** Console entries for the threads whose consoles watch the app, and this thread's watches. */
  | { readonly t: "consoleEntry"; readonly appId: string; readonly entryJson: string }
  | { readonly t: "consoleWatch"; readonly appIds: readonly string[] };

/** Asked, and answered with a `reply` of the same id. */
export type ThreadQuestion =
  | JoinQuestion
  | LeaveQuestion
  | { readonly t: "subscriptionCount"; readonly appId: string; readonly channel: string }
  | { readonly t: "occupiedChannels"; readonly appId: string; readonly prefix: string }
  | { readonly t: "members"; readonly appId: string; readonly channel: string }
  | { readonly t: "cameOnline"; readonly appId: string; readonly userId: string }
  | { readonly t: "wentOffline"; readonly appId: string; readonly userId: string }
  | { readonly t: "online"; readonly appId: string; readonly userIds: readonly string[] }
  | { readonly t: "cacheGet"; readonly appId: string; readonly channel: string }
  /** A presence-cache channel's replay, asked right after the join: answered at once, next to the join's answer. */
  | { readonly t: "cacheWithJoin"; readonly appId: string; readonly channel: string }
  | { readonly t: "keep"; readonly appId: string; readonly channel: string; readonly rule: VacantChannelBuffer; readonly frame: string }
  | { readonly t: "claim"; readonly appId: string; readonly channel: string }
  | { readonly t: "waiting"; readonly appId: string; readonly channel: string }
  | { readonly t: "settled" };

/**
 * `announce`: member_added, which the hub hands to every thread (the asking one too) before it answers;
 * `heard`: whether anyone hears the app's transitions (webhooks, a console), as for `leave`.
 */
type JoinQuestion = { readonly t: "join"; readonly appId: string; readonly channel: string; readonly userId: string; readonly userInfo: unknown; readonly limit: number; readonly announce: ThreadChannelMessage; readonly heard: boolean };
type LeaveQuestion = { readonly t: "leave"; readonly appId: string; readonly channel: string; readonly userId: string; readonly heard: boolean };

export type Ask = { readonly t: "ask"; readonly id: number; readonly question: ThreadQuestion };

export type ToHub =
  /** A publish, with --redis only, for the other nodes: the process's threads have it already (thread-mesh.ts). */
  | ThreadChannelMessage
  | PresenceAsk
  | ThreadNotice
  | Ask;

/** A question: what answering it sets off runs before the hub takes the thread's next message (port-batch.ts). */
export const isQuestion = (message: ToHub): boolean => (typeof message === "string" ? !isChannelMessage(message) : message.t === "ask");

/** A channel message starts with its app id's length; the presence questions and answers below with a letter. */
export const isChannelMessage = (text: string): text is ThreadChannelMessage => {
  const first = text.charCodeAt(0);
  return first >= 48 && first <= 57;
};

/**
 * The questions of a presence storm, a join and a leave per member, and their answers, cross
 * as strings: in isolation a join asked as an object took 3.5 to 4.3 µs of CPU to post and
 * read, as this string 1.9 to 2.3 (bench/RESULTS.md, "Presence data kept escaped"). The parts
 * that may hold any character go last or after their length; JSON never holds a newline.
 */
export type PresenceAsk = string & { readonly presenceAsk: true };
export type PresenceReply = string & { readonly presenceReply: true };

export function askAsString(id: number, question: ThreadQuestion): PresenceAsk | undefined {
  if (question.t === "join") {
    const { appId, channel, userId, userInfo, limit, announce, heard } = question;
    const info = userInfo === undefined ? "" : JSON.stringify(userInfo);
    return `J${id}\n${limit}\n${heard ? 1 : 0}${appId.length}\n${appId}${channel}\n${userId.length}\n${userId}${info}\n${announce}` as PresenceAsk;
  }
  if (question.t === "leave") {
    const { appId, channel, userId, heard } = question;
    return `L${id}\n${heard ? 1 : 0}${appId.length}\n${appId}${channel}\n${userId}` as PresenceAsk;
  }
  return undefined;
}

/** Only the threads write these, so they are trusted as written. */
export function askFromString(text: PresenceAsk): Ask {
  const read = new Reader(text, 1);
  const id = read.number();
  if (text[0] === "L") {
    const heard = read.flag();
    const appId = read.counted();
    return { t: "ask", id, question: { t: "leave", heard, appId, channel: read.line(), userId: read.rest() } };
  }
  const limit = read.number();
  const heard = read.flag();
  const appId = read.counted();
  const channel = read.line();
  const userId = read.counted();
  const info = read.line();
  const question: JoinQuestion = { t: "join", limit, heard, appId, channel, userId, userInfo: info === "" ? undefined : JSON.parse(info), announce: read.rest() as ThreadChannelMessage };
  return { t: "ask", id, question };
}

/** The answer to question `id` as it goes to the thread: a string for a join or a leave. */
export function reply(id: number, question: ThreadQuestion["t"], value: unknown): ToThread {
  if (question === "leave") return `l${id}\n${value ? 1 : 0}` as PresenceReply;
  if (question !== "join") return { t: "reply", id, value };
  const join = value as ClusterJoin;
  return (join.ok ? `j${id}\n${join.added ? 1 : 0}${join.members}` : `j${id}\n!${join.reason}`) as PresenceReply;
}

/** subscription_succeeded's ids and hash, as presenceData takes them. */
export interface JoinLists {
  readonly ids: string;
  readonly hash: string;
}

/**
 * A join's answer from the threads' own hub (thread-hub.ts): the channel's members whole (`m`),
 * or, after another such answer in the same message (PortBatch), only the members added to
 * that one's lists since (`d`: `lists` not `whole`, ThreadMembers.lists). A thread's joins of
 * one turn are answered in one message; with the lists whole, a storm of n joins copied n²/2
 * members across threads, twice (bench/RESULTS.md, "Presence joins on threads").
 */
export function joinReply(id: number, added: boolean, { ids, hash, count, whole }: JoinLists & { readonly count: number; readonly whole: boolean }): PresenceReply {
  return `${whole ? "m" : "d"}${id}\n${added ? 1 : 0}${count}\n${ids.length}\n${ids}${hash}` as PresenceReply;
}

/** `previous`: the lists of the last `m` or `d` answer of the same message; `lists`: this one's, if it is such an answer. */
export function replyFromString(text: PresenceReply, previous?: JoinLists): { id: number; value: ClusterJoin | boolean; lists?: JoinLists } {
  const read = new Reader(text, 1);
  const id = read.number();
  if (text[0] === "l") return { id, value: read.flag() };
  if (text[0] === "m" || text[0] === "d") {
    const added = read.flag();
    const count = read.number();
    const ids = read.counted();
    const hash = read.rest();
    if (text[0] === "d" && !previous) throw new Error("A join's answer adds to the members of an answer this message did not have.");
    const lists = text[0] === "d" ? { ids: previous!.ids + ids, hash: previous!.hash + hash } : { ids, hash };
    return { id, value: { ok: true, added, members: presenceData(lists.ids, lists.hash, count) }, lists };
  }
  const rest = read.rest();
  return { id, value: rest[0] === "!" ? { ok: false, reason: rest.slice(1) } : { ok: true, added: rest[0] === "1", members: rest.slice(1) as PresenceData } };
}

/** Reads the fields of one of the strings above, in order. */
class Reader {
  constructor(
    private readonly text: string,
    private at: number,
  ) {}

  /** Up to the next newline. */
  line(): string {
    const end = this.text.indexOf("\n", this.at);
    const line = this.text.slice(this.at, end);
    this.at = end + 1;
    return line;
  }

  number(): number {
    return Number(this.line());
  }

  /** One character, 1 or 0. */
  flag(): boolean {
    return this.text[this.at++] === "1";
  }

  /** A string after its length and a newline. */
  counted(): string {
    const length = this.number();
    const value = this.text.slice(this.at, this.at + length);
    this.at += length;
    return value;
  }

  rest(): string {
    return this.text.slice(this.at);
  }
}

/**
 * Questions the hub answers a turn later (setImmediate): the reads, and the claim
 * of a channel's kept events. The threads' ports are read one after the other, so
 * a thread's message can wait behind another thread's question that it caused: a
 * cache channel's last event behind its read, or a kept event behind the claim of
 * its channel (the backend heard its publish answered, then the user's page
 * subscribed through the other thread). Every message already waiting is handled
 * within the turn. Counts, which a thread sends up to a turn late itself, have a
 * wait of their own (AFTER_COUNTS).
 */
export const NEXT_TURN: ReadonlySet<ThreadQuestion["t"]> = new Set(["subscriptionCount", "occupiedChannels", "members", "online", "cacheGet", "waiting", "claim"]);

/** Reads of the subscriber counts, answered once every batch of counts begun before them is in (thread-counts.ts). */
export const AFTER_COUNTS: ReadonlySet<ThreadQuestion["t"]> = new Set(["subscriptionCount", "occupiedChannels"]);

/** What the hub answers each question with. */
export interface Answers {
  join: ClusterJoin;
  leave: boolean;
  subscriptionCount: number;
  occupiedChannels: string[];
  members: PresenceSnapshot;
  cameOnline: boolean;
  wentOffline: boolean;
  online: string[];
  cacheGet: CachedEvent | undefined;
  cacheWithJoin: CachedEvent | undefined;
  keep: boolean;
  claim: string[];
  waiting: number;
  settled: true;
}

/** Transitions the hub found, reported to the one thread whose change caused them. */
export type Transition =
  | { readonly kind: "occupied" | "vacated"; readonly appId: string; readonly channel: string }
  | { readonly kind: "memberAdded" | "memberRemoved"; readonly appId: string; readonly channel: string; readonly userId: string };

export type ToThread =
  /** For the thread's subscribers of the channel. */
  | ThreadChannelMessage
  /** The answer to a join or a leave. */
  | PresenceReply
  /** A port to thread `thread`, which joined (thread-mesh.ts); it replaces any port to that thread before. */
  | { readonly t: "peer"; readonly thread: number; readonly port: MessagePort }
  /** Thread `thread` ended: a port to it that has not closed (its end lost in a message it never took) is closed here. */
  | { readonly t: "gone"; readonly thread: number }
  | { readonly t: "consoleEntry"; readonly appId: string; readonly entryJson: string }
  | { readonly t: "consoleWatch"; readonly appIds: readonly string[] }
  | { readonly t: "terminate"; readonly appId: string; readonly userId: string }
  /** A read waits for the batch of counts the thread holds (thread-counts.ts). */
  | { readonly t: "sendCounts" }
  /** `error`: the question failed (Redis away, with --redis): the thread's caller gets ClusterStateUnavailable. */
  | { readonly t: "reply"; readonly id: number; readonly value: unknown; readonly error?: string }
  | { readonly t: "transition"; readonly transition: Transition }
  /**
   * A dead thread's member (with --redis; the threads' own hub sends the member_removed itself)
   * or user is gone everywhere: the surviving thread told tells every socket.
   */
  | { readonly t: "memberGone"; readonly appId: string; readonly channel: string; readonly userId: string }
  | { readonly t: "userGone"; readonly appId: string; readonly userId: string }
  /** With --redis: a member or user the other nodes did not hear of (a resync), for the thread told to announce. */
  | { readonly t: "memberCame"; readonly appId: string; readonly channel: string; readonly userId: string; readonly userInfo: unknown }
  | { readonly t: "userCame"; readonly appId: string; readonly userId: string }
  /**
   * With --redis: why the process's node cannot serve as part of the cluster now
   * (for /ready), and, to the thread serving /metrics, the state of its Redis link.
   */
  | {
      readonly t: "node";
      readonly problem: string | undefined;
      readonly link: RedisLinkStats | undefined;
      /** Each app's connections on the other nodes, for maxConnections (apps with none left out). */
      readonly elsewhere: ReadonlyArray<readonly [string, number]>;
    }
  | { readonly t: "dropped"; readonly appId: string; readonly reason: BufferDropReason; readonly count: number };
