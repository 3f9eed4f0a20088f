/**
 * Joining a cluster of nodes on one Redis: two connections (commands, and
 * pub/sub, which Redis keeps apart), this node's number, and the Redis-backed
 * broker, occupancy, presence, online users, connection counts, event cache
 * and liveness.
 */
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { AppRegistry } from "../apps/app-registry.js";
import type { RedisTarget } from "../config.js";
import type { Logger } from "../logger.js";
import type { ClusterMembership } from "./cluster.js";
import { ClusterStartError } from "./errors.js";
import { NodeLiveness } from "./node-liveness.js";
import { NodeSetKeeper } from "./node-set-keeper.js";
import { RedisBroker } from "./redis-broker.js";
import { RedisOccupancy } from "./redis-occupancy.js";
import { RedisConnectionCounts } from "./redis-connection-counts.js";
import { RedisEventCache } from "./redis-event-cache.js";
import { RedisChannelBuffers } from "./redis-channel-buffers.js";
import { RedisOnlineUsers } from "./redis-online-users.js";
import { RedisPresence } from "./redis-presence.js";
import { RedisRecovery } from "./redis-recovery.js";
import { TIMINGS } from "../timings.js";
import { NODE_NUMBER_KEY, NODES_KEY, nodeChannelsKey, nodeMembersKey, nodeUsersKey } from "./redis-keys.js";

const RAISE_NODE_NUMBER = "if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end";
/** How long start-up waits for Redis before giving up with a message. */
const CONNECT_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5000;
/** While Redis is away, reconnect attempts back off to this interval. */
const LONGEST_RECONNECT_DELAY_MS = TIMINGS.reconnectDelayMs;

export interface ClusterOptions {
  readonly target: RedisTarget;
  readonly apps: AppRegistry;
  readonly log: Logger;
  /**
   * Numbers to draw: a process with worker threads is one node, but each thread
   * needs a number of its own for its socket_ids; the node goes by the first.
   */
  readonly numbers?: number;
}

/** Connects to Redis and draws this node's number. */
export async function joinCluster({ target, apps, log, numbers = 1 }: ClusterOptions): Promise<ClusterMembership> {
  const commands = client(target, false);
  const subscriber = client(target, true);
  const where = describe(target);
  try {
    await Promise.all([connect(commands), connect(subscriber)]);
  } catch (error) {
    commands.disconnect();
    subscriber.disconnect();
    throw new ClusterStartError(`Cannot reach Redis at ${where}: ${(error as Error).message.replace(/\.$/, "")}. Start Redis or fix --redis / HERALD_REDIS_URL (and --redis-sentinels).`);
  }
  const lastNumber = await commands.incrby(NODE_NUMBER_KEY, numbers);
  const nodeNumber = lastNumber - numbers + 1;
  const nodeId = String(nodeNumber);
  // A Redis that restarted empty would hand out numbers again: each node puts the
  // counter back above its own numbers when it reconnects, and every heartbeat, for
  // the shard of a Redis Cluster that holds the counter restarts alone.
  const raiseNodeNumber = () => void commands.eval(RAISE_NODE_NUMBER, 1, NODE_NUMBER_KEY, lastNumber).catch(() => undefined);
  commands.on("ready", raiseNodeNumber);
  const raising = setInterval(() => commands.status === "ready" && raiseNodeNumber(), TIMINGS.heartbeatMs);
  raising.unref();
  const recovery = new RedisRecovery(commands, apps, log, [NODES_KEY, nodeChannelsKey(nodeId), nodeMembersKey(nodeId), nodeUsersKey(nodeId)]);
  await recovery.join();

  return {
    nodeNumber,
    async start({ local, channels, events, consoles, bufferDrops, problemChanged }) {
      const broker = new RedisBroker(commands, subscriber, nodeId, local, consoles, log, where, target.clusterNodes !== undefined, problemChanged);
      await broker.listen(apps.ids);
      const occupancy = new RedisOccupancy(commands, nodeId, apps, channels, events, log, recovery);
      const presence = new RedisPresence(commands, nodeId, apps, channels, events, log, broker, recovery);
      const onlineUsers = new RedisOnlineUsers(commands, nodeId, apps, local, events, log, recovery);
      // The one reconnect path: after an outage, or into a Redis that lost its data,
      // this node writes its share again (redis-recovery.ts). Channel counts first, so
      // reads answer right again; then members and signed-in users, whose changes the
      // other nodes hear over pub/sub, so only once their own reconnects (at most
      // LONGEST_RECONNECT_DELAY_MS apart) are done: the recovery waits that out itself
      // when Redis lost its data. Connection counts are rewritten by their own 3 s
      // refresh, and the node number by joinCluster's handler.
      const othersBackMs = 2 * LONGEST_RECONNECT_DELAY_MS;
      const resyncOthers = () =>
        Promise.all([
          presence.resync(apps.ids.map((id) => apps.byId(id)!)).then(
            (members) => log.info(members, "this node's presence members written to Redis again: added, and removed as gone while Redis was away"),
            (error: unknown) => log.warn({ err: String(error) }, "writing this node's presence members to Redis again failed: members who left while Redis was away may stay listed until the next reconnect"),
          ),
          onlineUsers.resync().then(
            (users) => log.info(users, "this node's signed-in users written to Redis again: online, and offline as gone while Redis was away"),
            (error: unknown) => log.warn({ err: String(error) }, "writing this node's signed-in users to Redis again failed: users who left while Redis was away may stay online until the next reconnect"),
          ),
        ]);
      const connectionCounts = new RedisConnectionCounts(commands, nodeId, apps, local);
      connectionCounts.start();
      const liveness = new NodeLiveness(commands, nodeId, async (deadNodeId) => {
        await connectionCounts.forgetNode(deadNodeId);
        await occupancy.forgetNode(deadNodeId);
        await presence.forgetNode(deadNodeId);
        await onlineUsers.forgetNode(deadNodeId);
      }, () => {
        // As after an outage where Redis kept its data, less the wait for the other nodes, which are connected.
        // While a recovery is under way, that recovery does it.
        if (recovery.writable) recovering = nodeSets.check().then(() => Promise.all([occupancy.resync(), resyncOthers()]));
      }, log);
      const nodeSets = new NodeSetKeeper(commands, [occupancy.nodeSet(), presence.nodeSet(), onlineUsers.nodeSet()], recovery, log);
      /** Until this node's share is written again: a graceful stop waits for it, so that its departures are written too. */
      let recovering: Promise<unknown> = Promise.resolve();
      liveness.start();
      const recover = () => {
        recovering = recovery.recover([occupancy, presence, onlineUsers], othersBackMs).then(async (lost) => {
          if (lost === undefined) return;
          const epoch = recovery.epoch;
          // This node's own sets first: the resyncs read them for what left meanwhile, and a Redis Cluster shard that restarted may have lost them alone.
          await nodeSets.check();
          // And the others' last beats, where the set lost them: one that died meanwhile is judged then.
          await liveness.restoreOthers().catch(() => undefined);
          const counts = occupancy.resync();
          // Into data Redis kept, the wait for the others is here (into a Redis that lost it, the recovery waited).
          if (!lost) await new Promise((resolve) => setTimeout(resolve, othersBackMs).unref());
          // Not once another outage overtook it: sent in the middle of the next recovery, it took members out of the shares being put back.
          if (recovery.epoch === epoch) await resyncOthers();
          await counts;
        });
      };
      commands.on("ready", recover);
      recovery.watchForLoss(recover);
      nodeSets.start();
      return {
        broker,
        occupancy,
        presence,
        onlineUsers,
        connectionCounts,
        eventCache: new RedisEventCache(commands, log),
        // On the connection the counts are written on: a claim follows its node's report.
        channelBuffers: new RedisChannelBuffers(commands, bufferDrops, log),
        consoleRelay: {
          publish: (appId, entryJson) => broker.publishConsoleEntry(appId, entryJson),
          announce: (appIds) => broker.announceConsoles(appIds),
        },
        problem: () => broker.problem(),
        addApps: (appIds) => broker.listen(appIds),
        redisLink: () => ({
          up: broker.problem() === undefined,
          roundTripSeconds: liveness.lastRoundTripSeconds,
          messagesNotSent: broker.messagesNotSent,
        }),
        settled: async () => {
          await recovering;
          await Promise.all([occupancy.settled(), presence.settled()]);
        },
        async close() {
          clearInterval(raising);
          recovery.stop();
          occupancy.stop();
          presence.stop();
          await nodeSets.stop();
          await connectionCounts.stop();
          await liveness.stop();
          await broker.close();
        },
      };
    },
  };
}

/** `subscriber`: the connection for pub/sub, which on a Redis Cluster subscribes per shard. */
function client(target: RedisTarget, subscriber: boolean): Redis {
  const options: RedisOptions = {
    lazyConnect: true,
    // Commands fail at once while Redis is away, so nothing piles up in memory; and those
    // on their way when the connection closes fail then too (0), not sent again on the next
    // connection, into a Redis that may have restarted empty before this node recovers:
    // a write resent so was answered by the new Redis as if it were the old (a channel_vacated
    // lost). Failed, the write is one without an answer, which redis-departures.ts settles.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // A Redis that hangs instead of closing must not collect unanswered commands for ever.
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, LONGEST_RECONNECT_DELAY_MS),
  };
  // The URL, if any, still gives the password (and, outside a cluster, the database).
  const url = target.url ? new URL(target.url) : undefined;
  const credentials = {
    password: url?.password ? decodeURIComponent(url.password) : undefined,
    username: url?.username ? decodeURIComponent(url.username) : undefined,
  };
  let redis: Redis;
  if (target.clusterNodes) {
    const cluster = new Cluster(target.clusterNodes, {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: (attempt) => Math.min(attempt * 200, LONGEST_RECONNECT_DELAY_MS),
      shardedSubscribers: subscriber,
      redisOptions: { ...options, ...credentials },
    });
    // Cluster speaks the same commands as Redis; the code above this uses only those.
    redis = cluster as unknown as Redis;
  } else if (target.sentinels) {
    redis = new Redis({
      ...options,
      autoResubscribe: !subscriber,
      ...credentials,
      sentinels: target.sentinels,
      name: target.sentinelName,
      db: url && url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined,
    });
  } else {
    // The subscriber's channels are subscribed again by the broker (redis-broker.ts).
    redis = new Redis(target.url!, { ...options, autoResubscribe: !subscriber });
  }
  // Until the broker takes over the reporting, start-up reports failures itself; without
  // a listener ioredis would print each one.
  redis.on("error", () => undefined);
  return redis;
}

async function connect(redis: Redis): Promise<void> {
  // ioredis retries for ever; start-up only waits so long.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
  });
  try {
    await Promise.race([redis.connect(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where Redis is, without passwords, for messages. */
function describe(target: RedisTarget): string {
  const list = (nodes: Array<{ host: string; port: number }>) => nodes.map(({ host, port }) => `${host}:${port}`).join(",");
  if (target.clusterNodes) return `the Redis Cluster of ${list(target.clusterNodes)}`;
  if (target.sentinels) return `master "${target.sentinelName}" of sentinels ${list(target.sentinels)}`;
  return redactedUrl(target.url!);
}

function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an invalid URL)";
  }
}
