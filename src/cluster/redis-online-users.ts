/**
 * Online users shared through Redis, per app (hash tag `{app}`):
 *
 *   herald:{app}:user-nodes:{user}   set  nodes with a signed-in socket of the user
 *   herald:node:{node}:users         set  "app\nuser" signed in on that node, so
 *                                         survivors can take a dead node's users offline
 */
import type { Redis } from "ioredis";
import type { App } from "../apps/app.js";
import type { AppRegistry } from "../apps/app-registry.js";
import type { Logger } from "../logger.js";
import { CutRemovals } from "./cut-removals.js";
import { OutageWarning } from "./outage-warning.js";
import type { NodeShare, RedisRecovery } from "./redis-recovery.js";
import type { NodeSet } from "./node-set-keeper.js";
import type { ClusterEvents, LocalNode, OnlineUsers } from "./cluster.js";
import { eachNodeEntry, forgetNodeSet, nodeEntry, splitNodeEntry } from "./node-entries.js";
import { nodeUsersKey, userNodesKey } from "./redis-keys.js";
import { deadNodeAnswerKey, MARKER_TTL_MS } from "./redis-departures.js";
import { defineScripts } from "./redis-scripts.js";

interface OnlineCommands {
  heraldCameOnline(userNodes: string, node: string): Promise<number>;
  heraldWentOffline(userNodes: string, answer: string, node: string, answerTtlMs: number): Promise<number>;
}

export class RedisOnlineUsers implements OnlineUsers, NodeShare {
  private readonly commands: OnlineCommands;
  /** This node's signed-in users ("app\nuser") as Redis last took them, for a restore. */
  private readonly written = new Set<string>();
  private readonly cutSignOuts = new CutRemovals(this.written);
  private readonly localOnline: OutageWarning;

  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    private readonly apps: AppRegistry,
    private readonly local: LocalNode,
    private readonly events: ClusterEvents,
    log: Logger,
    private readonly recovery: RedisRecovery,
  ) {
    this.localOnline = new OutageWarning(log, "online status answered from this node only: Redis is unreachable");
    this.commands = defineScripts<OnlineCommands>(redis, {
      heraldCameOnline: { file: "came-online.lua", keys: 1 },
      heraldWentOffline: { file: "went-offline.lua", keys: 2 },
    });
  }

  async cameOnline(app: App, userId: string): Promise<boolean> {
    try {
      return await this.writeOnline(app.id, userId);
    } catch (error) {
      this.localOnline.warn({ err: String(error), appId: app.id });
      return true;
    }
  }

  /** Whether the user is new online in Redis; throws when Redis is away. */
  private async writeOnline(appId: string, userId: string): Promise<boolean> {
    const entry = nodeEntry(appId, userId);
    this.recovery.assertWritable();
    // Not awaited: one connection keeps the order, so the script runs after it, in the same round trip.
    this.redis.sadd(nodeUsersKey(this.nodeId), entry).catch(() => undefined);
    const first = (await this.commands.heraldCameOnline(userNodesKey(appId, userId), this.nodeId)) === 1;
    this.written.add(entry);
    this.cutSignOuts.written(entry);
    return first;
  }

  async wentOffline(app: App, userId: string): Promise<boolean> {
    // Before Redis is caught up, the resync takes the user offline there.
    if (!this.recovery.writable) return true;
    // Also one Redis did not hold from this node (2, went-offline.lua): its watchers heard it come online here.
    return (await this.offlineFor(this.nodeId, app.id, userId).catch(() => 1)) !== 0;
  }

  async online(app: App, userIds: readonly string[]): Promise<string[]> {
    try {
      const pipeline = this.redis.pipeline();
      for (const userId of userIds) pipeline.exists(userNodesKey(app.id, userId));
      const results = (await pipeline.exec()) ?? [];
      return userIds.filter((_, index) => results[index]?.[1] === 1);
    } catch {
      return userIds.filter((userId) => this.local.hasUser(app.id, userId));
    }
  }

  /** Its node set, for NodeSetKeeper. */
  nodeSet(): NodeSet {
    return { key: nodeUsersKey(this.nodeId), of: "signed-in users", entries: () => this.written };
  }

  /** Takes a dead node's users offline, telling their watchers of each now offline everywhere. */
  async forgetNode(deadNodeId: string): Promise<void> {
    const search = { appIds: this.apps.ids, prefix: (appId: string) => userNodesKey(appId, ""), holds: async (key: string) => (await this.redis.sismember(key, deadNodeId)) === 1 };
    await forgetNodeSet(this.redis, nodeUsersKey(deadNodeId), 2, ([appId, userId]) => this.takeOffline(deadNodeId, appId!, userId!), search);
  }

  /** Puts back the users Redis held online for this node before it lost its data; what they change is not reported. */
  async restore(): Promise<number> {
    const held = [...this.written];
    await Promise.all(
      held.map(async (entry) => {
        const [appId, userId] = splitNodeEntry(entry, 2) as [string, string];
        await this.redis.sadd(nodeUsersKey(this.nodeId), entry);
        await this.commands.heraldCameOnline(userNodesKey(appId, userId), this.nodeId);
      }),
    );
    return held.length;
  }

  /** Writes this node's signed-in users again and takes out those gone meanwhile; watchers hear of both. */
  async resync(): Promise<{ online: number; offline: number }> {
    let online = 0;
    let offline = 0;
    for (const [appId, userId] of this.local.signedInUsers()) {
      const app = this.apps.byId(appId);
      // Redis away again: the resync stops here, to run again at the next reconnect, and nobody hears the user come.
      if (!app || !(await this.writeOnline(appId, userId))) continue;
      this.events.userCame(app, userId);
      online += 1;
    }
    await eachNodeEntry(this.redis, nodeUsersKey(this.nodeId), 2, async ([appId, userId]) => {
      if (!this.local.hasUser(appId!, userId!) && (await this.takeOffline(this.nodeId, appId!, userId!))) offline += 1;
    });
    return { online, offline };
  }

  /** Takes the user `nodeId` held offline; its watchers everywhere hear it if no node holds the user any more (then true). */
  private async takeOffline(nodeId: string, appId: string, userId: string): Promise<boolean> {
    if (nodeId === this.nodeId) {
      if ((await this.offlineFor(nodeId, appId, userId)) !== 1) return false;
    } else {
      // A dead node's user: as its members (redis-presence.ts, removeMember).
      const answer = deadNodeAnswerKey(appId, nodeId, "offline", userId);
      if ((await this.offlineFor(nodeId, appId, userId, answer)) === 0 || (await this.redis.del(answer)) !== 1) return false;
    }
    const app = this.apps.byId(appId);
    if (app) this.events.userGone(app, userId);
    return true;
  }

  /** `answer`: for a dead node's user, where the write leaves its outcome (takeOffline). */
  private async offlineFor(nodeId: string, appId: string, userId: string, answer?: string): Promise<number> {
    const entry = nodeEntry(appId, userId);
    // A dead node's set goes whole once its cleanup is through (redis-presence.ts, leaveFor).
    if (nodeId === this.nodeId) this.redis.srem(nodeUsersKey(nodeId), entry).catch(() => undefined);
    // Without `answer`, the script is given a key it leaves alone (answer TTL 0).
    const write = this.commands.heraldWentOffline(userNodesKey(appId, userId), answer ?? userNodesKey(appId, userId), nodeId, answer ? MARKER_TTL_MS : 0);
    return nodeId === this.nodeId ? this.cutSignOuts.remove(entry, write) : write;
  }

  /** Back into data Redis kept: whether it holds each user whose going offline's answer the outage cut (cut-removals.ts). */
  settle(): Promise<void> {
    return this.cutSignOuts.settle(async (entry) => {
      const [appId, userId] = splitNodeEntry(entry, 2) as [string, string];
      return (await this.redis.sismember(userNodesKey(appId, userId), this.nodeId)) === 1;
    });
  }
}
