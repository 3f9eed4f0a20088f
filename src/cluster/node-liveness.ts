/**
 * Each node of a cluster beats every 3 s into one Redis sorted set (node id →
 * Redis's own clock, so the nodes' clocks do not matter). A node silent for 10 s
 * is dead: the first node to remove it from the set cleans up after it, so a
 * node killed without warning is noticed within about 13 s (23 s if it dies
 * within 10 s of a survivor's start or reconnect).
 */
import type { Redis } from "ioredis";
import type { Logger } from "../logger.js";
import { TIMINGS } from "../timings.js";
import { NODES_KEY } from "./redis-keys.js";
import { defineScripts } from "./redis-scripts.js";

const HEARTBEAT_MS = TIMINGS.heartbeatMs;
const DEAD_AFTER_MS = TIMINGS.deadAfterMs;

interface LivenessCommands {
  heraldHeartbeat(nodes: string, node: string, deadAfterMs: number): Promise<string[]>;
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

  constructor(
    private readonly redis: Redis,
    private readonly nodeId: string,
    /** Cleans up after a dead node; called on exactly one surviving node. */
    private readonly onDeadNode: (deadNodeId: string) => Promise<void>,
    private readonly log: Logger,
  ) {
    this.commands = defineScripts<LivenessCommands>(redis, { heraldHeartbeat: { file: "heartbeat.lua", keys: 1 } });
    redis.on("ready", () => (this.judgeFrom = Date.now() + DEAD_AFTER_MS));
  }

  /** The round trip of the last heartbeat, for /metrics. */
  lastRoundTripSeconds: number | undefined;

  start(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /** A node that stops cleanly leaves the set itself. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.zrem(NODES_KEY, this.nodeId).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    if (this.redis.status !== "ready") return;
    try {
      const sentAt = performance.now();
      const silent = await this.commands.heraldHeartbeat(NODES_KEY, this.nodeId, DEAD_AFTER_MS);
      this.lastRoundTripSeconds = (performance.now() - sentAt) / 1000;
      if (Date.now() < this.judgeFrom) return;
      for (const deadNodeId of silent) {
        if (deadNodeId === this.nodeId || (await this.redis.zrem(NODES_KEY, deadNodeId)) !== 1) continue;
        this.log.warn({ deadNode: deadNodeId }, `node ${deadNodeId} stopped answering; removing its sockets from the cluster's state`);
        await this.onDeadNode(deadNodeId);
      }
    } catch (error) {
      this.log.warn({ err: String(error) }, "cluster heartbeat failed");
    }
  }
}
