/** The cluster tests' Redis: the benchmark's throwaway redis-server, or none with HERALD_SKIP_REDIS_TESTS=1. */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type RedisServer } from "../../bench/lib/redis-server.js";

export { startRedis, type RedisServer } from "../../bench/lib/redis-server.js";

export const SKIP_REDIS_TESTS = process.env.HERALD_SKIP_REDIS_TESTS === "1";

/** A Redis Sentinel (redis-server --sentinel) watching `master` as "mymaster"; resolves with its host:port. */
export async function startSentinel(master: RedisServer): Promise<{ address: string; stop(): void }> {
  const port = await freePort();
  const masterPort = new URL(master.url).port;
  const config = join(mkdtempSync(join(tmpdir(), "herald-sentinel-")), "sentinel.conf");
  // Sentinel rewrites its config file, so it gets one of its own.
  writeFileSync(config, `port ${port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 ${masterPort} 1\n`);
  const child = spawn("redis-server", [config, "--sentinel"], { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk;
      if (output.includes("+monitor master mymaster")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`redis-server --sentinel exited with ${code}:\n${output}`)));
  });
  return { address: `127.0.0.1:${port}`, stop: () => child.kill("SIGKILL") };
}
