/**
 * Each node of a cluster beats every 3 s into one Redis sorted set (node id →
 * Redis's own clock, so the nodes' clocks do not matter). A node silent for 10 s
 * is dead: the first node to claim it cleans up after it, so a node killed without
 * warning is noticed within about 13 s (23 s if it dies within 10 s of a survivor's
 * start or reconnect). The claimer beats for the dead node until its cleanup is
 * through and only then takes it out of the set: if the claimer dies or stops
 * mid-way, the dead node falls silent again and another node takes the cleanup
 * over (each of its steps may be done twice; each reports once).
 *
 * Each node keeps the others' last beats, and writes them back after an outage
 * (`restoreOthers`) where the set lost them (a Redis or a Redis Cluster shard that
 * restarted empty): a node that died just before would otherwise never be judged,
 * and what it held would stay in Redis. Those alive beat again before they can be
 * judged, since a node judges only after beating for a whole silence period.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { TIMINGS } from "../timings.js";
import { NODES_KEY } from "./redis-keys.js";
import { onOutage } from "./redis-recovery.js";
import { defineScripts } from "./redis-scripts.js";

const HEARTBEAT_MS = TIMINGS.heartbeatMs;
const DEAD_AFTER_MS = TIMINGS.deadAfterMs;

interface LivenessCommands {
  /** The silent nodes, every node with its last beat (id, ms, ...), and 1 when this node was not in the set; beats for `cleaning` too. */
  heraldHeartbeat(nodes: string, node: string, deadAfterMs: number, ...cleaning: string[]): Promise<[string[], string[], number]>;
  /** 1 when this node claimed the cleanup after a silent node. */
  heraldClaimCleanup(nodes: string, silentNode: string, deadAfterMs: number): Promise<number>;
}

export class NodeLiveness {
  private timer: NodeJS.Timeout | undefined;
  private readonly commands: LivenessCommands;
  /**
   * Others are judged only once this node has been connected for a whole silence
   * period: after an outage every node's last beat is old, and the others need a
   * moment to beat again before anyone may call them dead.
   */
  private judgeFrom = Date.now() + DEAD_AFTER_MS;
  /** The other nodes' last beats (node id → Redis ms) as the last heartbeat read them. */
  private others = new Map<string, string>();
  /** The same as they were when the last outage began, until restoreOthers has written them back. */
  private beforeOutage: Map<string, string> | undefined;
  /** Dead nodes this node claimed and has not finished cleaning up after: it beats for them. */
  private readonly unfinished = new Set<string>();
  /** The cleanup under way, if any: one at a time, however long one takes. */
  private cleaning: Promise<void> | undefined;
  /** A beat got through since the last outage: a later one that finds this node out of the set finds it taken for dead. */
  private beaten = false;

  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    /** Cleans up after a dead node; called on one surviving node, again on another if that one dies or stops before it is through. */
    private readonly onDeadNode: (deadNodeId: string) => Promise<void>,
    /**
     * This node, alive, was taken for dead (silent for the whole allowance: stopped, or starved
     * of CPU) and another node cleaned up after it: what it holds is to be written again.
     */
    private readonly onTakenForDead: () => void,
    private readonly log: Logger,
  ) {
    this.commands = defineScripts<LivenessCommands>(redis, { heraldHeartbeat: { file: "heartbeat.lua", keys: 1 }, heraldClaimCleanup: { file: "claim-cleanup.lua", keys: 1 } });
    redis.on("ready", () => (this.judgeFrom = Date.now() + DEAD_AFTER_MS));
    // Kept, for a beat that gets through before the recovery would read the set as Redis has it now.
    onOutage(redis, () => {
      this.beforeOutage ??= this.others;
      // A Redis that restarted empty lost this node's beat too: its recovery writes the node's share again.
      this.beaten = false;
    });
  }

  /** The round trip of the last heartbeat, for /metrics. */
  lastRoundTripSeconds: number | undefined;

  start(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** After an outage: puts back each other node's last beat that the set lost (ZADD NX), for a dead one to be judged. */
  async restoreOthers(): Promise<void> {
    const beats = [...(this.beforeOutage ?? this.others)].flatMap(([nodeId, ms]) => [ms, nodeId]);
    if (beats.length > 0) await this.redis.zadd(NODES_KEY, "NX", ...beats);
    this.beforeOutage = undefined;
  }

  /**
   * A node that stops cleanly leaves the set itself. The dead it claimed and could not
   * clean up after (Redis cut it short) it hands back, with the oldest beat there is, for the
   * next node to beat to take over at once; unanswered, they fall silent all the same. Only
   * those still in the set: one that another node took over and is through with stays out.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.cleaning;
    const handedBack = [...this.unfinished].flatMap((deadNodeId) => [0, deadNodeId]);
    if (handedBack.length > 0) await this.redis.zadd(NODES_KEY, "XX", ...handedBack).catch(() => undefined);
    await this.redis.zrem(NODES_KEY, this.nodeId).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    if (this.redis.status !== "ready") return;
    let silent: string[];
    try {
      const sentAt = performance.now();
      const [silentNodes, beats, added] = await this.commands.heraldHeartbeat(NODES_KEY, this.nodeId, DEAD_AFTER_MS, ...this.unfinished);
      this.lastRoundTripSeconds = (performance.now() - sentAt) / 1000;
      // Out of the set once in it: a survivor's cleanup after this node is through (it takes the node out last).
      if (added === 1 && this.beaten) {
        this.log.warn("this node was taken for dead by another, which removed its sockets from the cluster's state (was it stopped, or starved of CPU, for the whole allowance?): writing them to Redis again");
        this.onTakenForDead();
      }
      this.beaten = true;
      silent = silentNodes;
      this.others = new Map();
      for (let index = 0; index < beats.length; index += 2) if (beats[index] !== this.nodeId) this.others.set(beats[index]!, beats[index + 1]!);
    } catch (error) {
      // Nor did this node see the others beat meanwhile (a Redis Cluster shard away closes no connection
      // it waits on), and the beats restoreOthers writes back after a long outage are older than the
      // allowance: the others need a whole silence period to beat again before it judges them.
      this.judgeFrom = Date.now() + DEAD_AFTER_MS;
      this.log.warn({ err: String(error) }, "cluster heartbeat failed");
      return;
    }
    if (Date.now() < this.judgeFrom) return;
    for (const deadNodeId of silent) {
      if (deadNodeId === this.nodeId || this.unfinished.has(deadNodeId) || (await this.commands.heraldClaimCleanup(NODES_KEY, deadNodeId, DEAD_AFTER_MS).catch(() => 0)) !== 1) continue;
      this.log.warn({ deadNode: deadNodeId }, `node ${deadNodeId} stopped answering; removing its sockets from the cluster's state`);
      this.unfinished.add(deadNodeId);
    }
    // Claimed, a dead node is this node's to clean up after: one that Redis cut short is tried again next beat.
    this.cleaning ??= this.cleanUp().finally(() => (this.cleaning = undefined));
  }

  private async cleanUp(): Promise<void> {
    try {
      for (const deadNodeId of this.unfinished) {
        await this.onDeadNode(deadNodeId);
        // Through: out of the set, and no longer beaten for.
        await this.redis.zrem(NODES_KEY, deadNodeId);
        this.unfinished.delete(deadNodeId);
      }
    } catch (error) {
      this.log.warn({ err: String(error) }, "cleaning up after a dead node failed; tried again at the next heartbeat");
    }
  }
}
