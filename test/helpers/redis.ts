/** The cluster tests' Redis: the benchmark's throwaway redis-server, or none with HERALD_SKIP_REDIS_TESTS=1. */
import { execFileSync, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { freePort, spawnRedisServer, type RedisServer } from "./redis-server.js";
import { tempDir } from "./temp-dir.js";

export { startRedis, type RedisServer } from "./redis-server.js";

export const SKIP_REDIS_TESTS = process.env.HERALD_SKIP_REDIS_TESTS === "1";

/** A Redis Sentinel (redis-server --sentinel) watching `master` as "mymaster"; resolves with its host:port. */
export async function startSentinel(master: RedisServer): Promise<{ address: string; stop(): void }> {
  const port = await freePort();
  const masterPort = new URL(master.url).port;
  const config = join(tempDir("sentinel"), "sentinel.conf");
  // Sentinel rewrites its config file, so it gets one of its own.
  writeFileSync(config, `port ${port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 ${masterPort} 1\n`);
  const child = await spawnRedisServer([config, "--sentinel"], "+monitor master mymaster");
  return { address: `127.0.0.1:${port}`, stop: () => child.kill("SIGKILL") };
}

/** Whether `port` can be bound on 127.0.0.1 now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster-bus port (port + 10000, which a cluster node binds too) is free as well. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort({ forRedis: true });
    if (port + 10_000 <= 65_535 && (await portFree(port + 10_000))) return port;
  }
}

/**
 * One cluster node. Its bus port is in the kernel's ephemeral range, where another
 * test's outgoing connection can take it between the check and the bind: then on
 * other ports.
 */
async function startClusterNode(dir: string): Promise<{ port: number; child: ChildProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freeClusterPort();
    try {
      return { port, child: await spawnRedisServer(clusterNodeArgs(port, dir)) };
    } catch (error) {
      if (attempt >= 5 || !String(error).includes("Address already in use")) throw error;
    }
  }
}

/** A Redis Cluster of three masters (no replicas), not persisted. */
export interface RedisCluster {
  /** The masters, as host:port,... */
  readonly nodes: string;
  stop(): void;
  /** Kills master `index` (0 to 2). */
  stopShard(index: number): Promise<void>;
  /** Starts master `index` again on its port, empty (its nodes.conf keeps its place in the cluster). */
  startShard(index: number): Promise<void>;
  /** Both: the master's restart. */
  restartShard(index: number): Promise<void>;
  /** The master that holds `key`. */
  shardOf(key: string): number;
  /** The restart of the master that holds `key`. */
  restartShardOf(key: string): Promise<void>;
  /** redis-cli in cluster mode (-c: to the shard of the key). */
  cli(...args: string[]): string;
}

/** Starts a RedisCluster. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const dir = tempDir("redis-cluster");
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  for (let node = 0; node < 3; node++) {
    const { port, child } = await startClusterNode(dir);
    ports.push(port);
    children.push(child);
  }
  const nodes = ports.map((port) => `127.0.0.1:${port}`);
  execFileSync("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"], { stdio: "ignore" });
  await clusterOk(ports[0]!);
  const cli = (...args: string[]) => execFileSync("redis-cli", ["-c", "-p", String(ports[0]), ...args]).toString();
  const stopShard = (index: number) =>
    new Promise<void>((exited) => {
      children[index]!.once("exit", () => exited());
      children[index]!.kill("SIGKILL");
    });
  const startShard = async (index: number) => {
    children[index] = await spawnRedisServer(clusterNodeArgs(ports[index]!, dir));
    await clusterOk(ports[index]!);
  };
  const restartShard = async (index: number) => {
    await stopShard(index);
    await startShard(index);
  };
  const shardOf = (key: string) => {
    const slot = Number(cli("cluster", "keyslot", key));
    const owner = cli("cluster", "nodes")
      .split("\n")
      .find((line) => line.split(" ").slice(8).some((range) => { const [from, to = from] = range.split("-").map(Number); return slot >= from! && slot <= to!; }));
    const index = ports.indexOf(Number(/:(\d+)@/.exec(owner ?? "")?.[1]));
    if (index === -1) throw new Error(`no master holds slot ${slot}:\n${cli("cluster", "nodes")}`);
    return index;
  };
  return {
    nodes: nodes.join(","),
    cli,
    stop: () => children.forEach((child) => child.kill("SIGKILL")),
    stopShard,
    startShard,
    restartShard,
    shardOf,
    restartShardOf: (key) => restartShard(shardOf(key)),
  };
}

async function clusterOk(port: number): Promise<void> {
  // The masters agree on the slots a moment after the create command returns (or a restarted one rejoins).
  for (let attempt = 0; attempt < 100; attempt++) {
    if (execFileSync("redis-cli", ["-p", String(port), "cluster", "info"]).toString().includes("cluster_state:ok")) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function clusterNodeArgs(port: number, dir: string): string[] {
  return ["--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", join(dir, `nodes-${port}.conf`), "--save", "", "--appendonly", "no", "--dir", dir];
}
