/** A throwaway redis-server from PATH on a free port, for the cluster tests and benchmark. */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { portLockPath } from "../../src/port-lock.js";
import { tempDir } from "./temp-dir.js";

export interface RedisServer {
  readonly url: string;
  /** Stops Redis (SIGKILL, like a crash); `start()` brings it back on the same port, empty unless it persists. */
  kill(): Promise<void>;
  /** `empty`: a Redis that persists comes back without its data too, as one whose disk was lost. */
  start(options?: { empty?: boolean }): Promise<void>;
}

/**
 * Ports are picked from 20,000 to 22,700: below Linux's ephemeral range (32768 and up) even
 * as a Redis Cluster node's bus port (its port + 10,000), which another test's outgoing
 * connection could otherwise take first. Each vitest worker picks from a slice of its own
 * (vitest.config.ts runs up to 6), so that two test files never pick the same port between
 * one's check and its use (a metrics port was once taken so); the run on worker threads
 * (`npm run test:workers`, HERALD_TEST_WORKERS) from six slices of its own, so that both
 * suites may run at once. A port is also passed over while a Herald holds its lock
 * (src/port-lock.ts): one that is stopping has closed its socket and holds the lock until
 * its process is gone.
 */
const POOLS = 6;
const SLICE_PORTS = 225;
/** This process's Redis ports, held while Redis is down too: a Redis killed by a test comes back on its port. */
const redisPorts = new Set<number>();

/** `forRedis`: the port stays this process's Redis's, never handed out again. */
export async function freePort({ forRedis = false } = {}): Promise<number> {
  const slice = ((Number(process.env.VITEST_POOL_ID ?? 1) - 1) % POOLS) + (process.env.HERALD_TEST_WORKERS ? POOLS : 0);
  for (;;) {
    const port = 20_000 + slice * SLICE_PORTS + Math.floor(Math.random() * SLICE_PORTS);
    if (redisPorts.has(port) || !(await bindable(port))) continue;
    if (forRedis) redisPorts.add(port);
    return port;
  }
}

async function bindable(port: number): Promise<boolean> {
  return (await listenable({ port, host: "127.0.0.1" })) && (await listenable({ path: portLockPath(port) }));
}

function listenable(options: { port: number; host: string } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(options, () => server.close(() => resolve(true)));
  });
}

/** Runs `redis-server args` and resolves once its output says `ready` (a server's "Ready to accept connections" by default). */
export function spawnRedisServer(args: string[], ready = "Ready to accept connections"): Promise<ChildProcess> {
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk;
      if (output.includes(ready)) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`redis-server ${args.join(" ")} exited with ${code}:\n${output}`)));
  });
}

/** With `persist`, Redis writes every change to an append-only file and reloads it on `start()`. */
export async function startRedis(options: { persist?: boolean } = {}): Promise<RedisServer> {
  if (spawnSync("redis-server", ["--version"]).error) {
    throw new Error(
      "This needs redis-server on PATH: install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis). The tests skip the cluster tests with HERALD_SKIP_REDIS_TESTS=1.",
    );
  }
  const port = await freePort({ forRedis: true });
  const newDir = () => (options.persist ? tempDir("redis") : "");
  let dir = newDir();
  let child: ChildProcess | undefined;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    async start({ empty = false } = {}) {
      if (empty) dir = newDir();
      const persistence = options.persist ? ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir] : ["--appendonly", "no"];
      child = await spawnRedisServer(["--port", String(port), "--bind", "127.0.0.1", "--save", "", ...persistence]);
    },
    async kill() {
      const running = child;
      // Ended already (killed, it has a signal and no exit code): there is no exit to wait for.
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once("exit", () => resolve());
        running.kill("SIGKILL");
      });
    },
  };
  await server.start();
  return server;
}
