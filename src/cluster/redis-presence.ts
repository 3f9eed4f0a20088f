/**
 * Presence shared through Redis. Per app (hash tag `{app}`):
 *
 *   herald:{app}:members:{channel}             hash  user id → user_info (JSON)
 *   herald:{app}:member-nodes:{channel}:{user} set   nodes with a socket of that user there
 *   herald:{app}:leaving:{channel}:{user}      node that saw the user leave, for the 3 s hold
 *   herald:node:{node}:members                 set   "app\nchannel\nuser" this node holds,
 *                                                    so survivors can remove a dead node's users
 *
 * Adding a node to a user's set is idempotent, so a node can write its share again
 * after an outage without counting anyone twice.
 */
import type { Redis } from "ioredis";
import type { App } from "../apps/app.js";
import type { AppRegistry } from "../apps/app-registry.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { PresenceSnapshot } from "../channels/presence-channel.js";
import { inJsonString, presenceData, type PresenceData } from "../protocol/server-frames.js";
import type { Logger } from "../logger.js";
import { CutRemovals } from "./cut-removals.js";
import { OutageWarning } from "./outage-warning.js";
import type { NodeShare, RedisRecovery } from "./redis-recovery.js";
import type { NodeSet } from "./node-set-keeper.js";
import { readClusterState } from "./errors.js";
import { eachNodeEntry, forgetNodeSet, nodeEntry, splitNodeEntry } from "./node-entries.js";
import { deadNodeAnswerKey, MARKER_TTL_MS, RedisDepartures } from "./redis-departures.js";
import type { Broker, ChannelMessage, ClusterEvents, ClusterJoin, Presence } from "./cluster.js";
import { leavingKey, memberNodesKey, memberNodesPrefix, membersKey, nodeMembersKey } from "./redis-keys.js";
import { defineScripts } from "./redis-scripts.js";
import { DEPARTURE_HOLD_MS } from "../channels/departure-hold.js";

interface PresenceCommands {
  heraldJoin(members: string, nodes: string, leaving: string, answer: string, user: string, info: string, max: number, node: string, answerTtlMs: number): Promise<[number, string[]?]>;
  heraldLeave(members: string, nodes: string, leaving: string, answer: string, user: string, node: string, markerTtlMs: number, answerTtlMs: number): Promise<number>;
}

/** A restore puts members back whatever the channel's limit: Redis held them before. */
const NO_LIMIT = 2 ** 31;

export class RedisPresence implements Presence, NodeShare {
  private readonly commands: PresenceCommands;
  /** This node's members as Redis last took them (entry → user_info JSON), for a restore. */
  private readonly written = new Map<string, string>();
  private readonly cutLeaves = new CutRemovals(this.written);
  private readonly departures: RedisDepartures;
  private readonly localJoins: OutageWarning;

  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    private readonly apps: AppRegistry,
    private readonly channels: ChannelDirectory,
    private readonly events: ClusterEvents,
    log: Logger,
    /** Announces new members to every node. */
    private readonly broker: Broker,
    private readonly recovery: RedisRecovery,
  ) {
    this.localJoins = new OutageWarning(log, "presence join answered from this node only: Redis is unreachable");
    this.commands = defineScripts<PresenceCommands>(redis, {
      heraldJoin: { file: "presence-join.lua", keys: 4 },
      heraldLeave: { file: "presence-leave.lua", keys: 4 },
    });
    this.departures = new RedisDepartures(redis, DEPARTURE_HOLD_MS, nodeId);
  }

  /** `announce` undefined: a resync, whose caller tells the nodes (memberCame). */
  async join(app: App, channel: string, userId: string, userInfo: unknown, firstOnNode: boolean, localMembers?: () => PresenceData, announce?: ChannelMessage): Promise<ClusterJoin> {
    const entry = nodeEntry(app.id, channel, userId);
    const info = JSON.stringify(userInfo ?? null);
    // An arrival nobody hears of needs no answer kept.
    const heard = this.events.heard(app);
    const answer = this.departures.answerKey(app.id);
    const reportAdded = () => this.events.heard(app) && this.events.memberAdded(app, channel, userId);
    let sent = false;
    try {
      this.recovery.assertWritable();
      // Not awaited: one connection keeps the order, so the script runs after it, in the same round trip.
      if (firstOnNode) this.redis.sadd(nodeMembersKey(this.nodeId), entry).catch(() => undefined);
      sent = true;
      const [added, flat] = await this.joinAs(app, channel, userId, info, app.maxPresenceMembersPerChannel, answer, heard);
      if (added === -1) {
        if (firstOnNode) this.redis.srem(nodeMembersKey(this.nodeId), entry).catch(() => undefined);
        return { ok: false, reason: `The presence channel already has ${app.maxPresenceMembersPerChannel} members, the most this app allows.` };
      }
      this.written.set(entry, info);
      this.cutLeaves.written(entry);
      if (added === 1 && heard) {
        this.departures.answered(answer);
        reportAdded();
      }
      if (added >= 1 && announce) this.broker.publish(announce);
      return { ok: true, added: added >= 1, members: presenceDataOf(flat ?? []) };
    } catch (error) {
      // Sent, the join may have been carried out: what it made is reported once Redis is back (redis-departures.ts).
      if (sent && heard) this.departures.unansweredArrival(answer, reportAdded);
      // A resync's: the member is nobody's news, and the resync stops here, to run again at the next reconnect.
      if (!announce) throw error;
      // Redis away: this node's members are the best answer there is; the resync adds them later.
      this.localJoins.warn({ err: String(error), appId: app.id, channel });
      if (firstOnNode) this.broker.publish(announce);
      return { ok: true, added: firstOnNode, members: localMembers?.() ?? this.channels.forApp(app.id).presenceData(channel) };
    }
  }

  async leave(app: App, channel: string, userId: string): Promise<boolean> {
    // Before Redis is caught up, the resync takes the member out and reports it.
    if (!this.recovery.writable) return true;
    const left = await this.departures.track(this.leaveFor(this.nodeId, app.id, channel, userId)).catch(() => -1);
    // Not for a member Redis did not hold from this node (2, presence-leave.lua), whose arrival
    // was not reported either; but without an answer (-1) the script may have run: the confirmation finds out.
    if (left === 1 || left === -1) this.confirmLeftLater(app, channel, userId, this.nodeId, left === 1);
    return left !== 0;
  }

  /** Its node set, for NodeSetKeeper. */
  nodeSet(): NodeSet {
    return { key: nodeMembersKey(this.nodeId), of: "presence members", entries: () => this.written.keys() };
  }

  settled(): Promise<void> {
    return this.departures.settled();
  }

  stop(): void {
    this.departures.stop();
  }

  async userCount(appId: string, channel: string): Promise<number> {
    return readClusterState("presence members", () => this.redis.hlen(membersKey(appId, channel)));
  }

  async userIds(appId: string, channel: string): Promise<string[]> {
    return readClusterState("presence members", () => this.redis.hkeys(membersKey(appId, channel)));
  }

  async members(appId: string, channel: string): Promise<PresenceSnapshot> {
    const flat = await readClusterState("presence members", () => this.redis.call("HGETALL", membersKey(appId, channel)) as Promise<string[]>);
    return snapshotOf(flat);
  }

  /** Removes a dead node's members, telling everyone of each user that left a channel everywhere. */
  async forgetNode(deadNodeId: string): Promise<void> {
    const search = { appIds: this.apps.ids, prefix: memberNodesPrefix, holds: async (key: string) => (await this.redis.sismember(key, deadNodeId)) === 1 };
    await forgetNodeSet(this.redis, nodeMembersKey(deadNodeId), 3, ([appId, channel, userId]) => this.removeMember(deadNodeId, appId!, channel!, userId!), search);
  }

  /** Puts back the members Redis held of this node's before it lost its data; what they change is not reported. */
  async restore(): Promise<number> {
    const held = [...this.written];
    await Promise.all(
      held.map(async ([entry, info]) => {
        const [appId, channel, userId] = splitNodeEntry(entry, 3) as [string, string, string];
        await this.redis.sadd(nodeMembersKey(this.nodeId), entry);
        await this.joinAs({ id: appId }, channel, userId, info, NO_LIMIT, this.departures.answerKey(appId), false);
      }),
    );
    return held.length + (await this.departures.restore());
  }

  /** Back into data Redis kept: whether it holds each member whose leave's answer the outage cut (cut-removals.ts). */
  settle(): Promise<void> {
    return this.cutLeaves.settle(async (entry) => {
      const [appId, channel, userId] = splitNodeEntry(entry, 3) as [string, string, string];
      return (await this.redis.sismember(memberNodesKey(appId, channel, userId), this.nodeId)) === 1;
    });
  }

  /**
   * Writes this node's members again after an outage (or into a Redis that lost its
   * data) and removes those that left meanwhile; the other nodes hear of both.
   */
  async resync(apps: Iterable<App>): Promise<{ added: number; removed: number }> {
    let added = 0;
    let removed = 0;
    for (const app of apps) {
      const channels = this.channels.forApp(app.id);
      for (const channel of channels.occupiedChannels("presence-")) {
        const { hash } = channels.presenceSnapshot(channel);
        for (const [userId, info] of Object.entries(hash)) {
          const joined = await this.join(app, channel, userId, info, true);
          if (!joined.ok || !joined.added) continue;
          this.events.memberCame(app, channel, userId, info);
          added += 1;
        }
      }
    }
    await eachNodeEntry(this.redis, nodeMembersKey(this.nodeId), 3, async ([appId, channel, userId]) => {
      if (userId! in this.channels.forApp(appId!).presenceSnapshot(channel!).hash) return;
      if (await this.removeMember(this.nodeId, appId!, channel!, userId!)) removed += 1;
    });
    // After the members: a user who came back cancels the departure first.
    this.departures.retry();
    return { added, removed };
  }

  /** Takes the member `nodeId` held out; the channel's subscribers everywhere hear it if the user left it entirely (then true). */
  private async removeMember(nodeId: string, appId: string, channel: string, userId: string): Promise<boolean> {
    if (nodeId === this.nodeId) {
      if ((await this.leaveFor(nodeId, appId, channel, userId)) !== 1) return false;
    } else {
      // A dead node's member: reported by whichever cleanup deletes its answer key, this one if
      // it made the departure, or the one after a try whose answer an outage cut (deadNodeAnswerKey).
      const answer = deadNodeAnswerKey(appId, nodeId, "left", channel, userId);
      if ((await this.leaveFor(nodeId, appId, channel, userId, answer)) === 0 || (await this.redis.del(answer)) !== 1) return false;
    }
    const app = this.apps.byId(appId);
    if (!app) return true;
    this.events.memberGone(app, channel, userId);
    this.confirmLeftLater(app, channel, userId, nodeId);
    return true;
  }

  /** Adds this node's socket of the user to the channel in Redis; with `keepAnswer`, `answer` keeps the arrival it makes (redis-departures.ts). */
  private joinAs(app: Pick<App, "id">, channel: string, userId: string, info: string, max: number, answer: string, keepAnswer: boolean): Promise<[number, string[]?]> {
    return this.commands.heraldJoin(membersKey(app.id, channel), memberNodesKey(app.id, channel, userId), leavingKey(app.id, channel, userId), answer, userId, info, max, this.nodeId, keepAnswer ? MARKER_TTL_MS : 0);
  }

  /** `answer`: for a dead node's member, where the leave leaves its outcome (removeMember). */
  private async leaveFor(nodeId: string, appId: string, channel: string, userId: string, answer?: string): Promise<number> {
    const entry = nodeEntry(appId, channel, userId);
    // A dead node's set goes whole once its cleanup is through, which an outage may cut short and
    // leave to be tried again: its entries stay until then.
    if (nodeId === this.nodeId) this.redis.srem(nodeMembersKey(nodeId), entry).catch(() => undefined);
    // An app nobody hears has no departure to confirm: no marker.
    const app = this.apps.byId(appId);
    const markerTtl = app && this.events.heard(app) ? MARKER_TTL_MS : 0;
    // Without `answer`, the script is given a key it leaves alone (answer TTL 0).
    const leave = this.commands.heraldLeave(membersKey(appId, channel), memberNodesKey(appId, channel, userId), leavingKey(appId, channel, userId), answer ?? leavingKey(appId, channel, userId), userId, nodeId, markerTtl, answer ? MARKER_TTL_MS : 0);
    return nodeId === this.nodeId ? this.cutLeaves.remove(entry, leave) : leave;
  }

  /** `leftVia` is the node whose departure took the user out (this one, or a dead one). */
  private confirmLeftLater(app: App, channel: string, userId: string, leftVia: string, answered = true): void {
    // When nobody hears of it, there is nothing to wait for.
    if (!this.events.heard(app)) return;
    this.departures.confirmLater(app.id, leavingKey(app.id, channel, userId), memberNodesKey(app.id, channel, userId), leftVia, () => this.events.memberRemoved(app, channel, userId), answered);
  }
}

/** subscription_succeeded's data from HGETALL's user, user_info pairs; each user_info is stored as JSON, and kept as it is. */
function presenceDataOf(flat: string[]): PresenceData {
  const ids: string[] = [];
  const hash: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const id = JSON.stringify(flat[i]!);
    ids.push(id);
    hash.push(`${id}:${flat[i + 1]!}`);
  }
  return presenceData(inJsonString(ids.join(",")), inJsonString(hash.join(",")), ids.length);
}

function snapshotOf(flat: string[]): PresenceSnapshot {
  const hash: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = JSON.parse(flat[i + 1]!);
  const ids = Object.keys(hash);
  return { ids, hash, count: ids.length };
}
