/**
 * User-space instructions per signed `POST events` (the B4 shape: 5 subscribers),
 * for Herald and the baseline, counted by valgrind's callgrind. Instruction
 * counts do not depend on what else the machine is doing, so small changes to
 * the publish path show up here when CPU-time readings are lost in noise.
 *
 * Each server runs twice under callgrind, after the same warm-up, with few and
 * with many requests; the difference divided by the extra requests removes
 * start-up and warm-up from the count.
 *
 *   npm run bench:instructions            (needs valgrind: apt-get install valgrind)
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { ClientPool } from "./lib/client-pool.js";
import { clockMs } from "./lib/histogram.js";
import { publishMany } from "./lib/publisher.js";
import { BENCH_APP, type ServerKind } from "./lib/servers.js";

const WARM_UP = 6000;
const FEW = 500;
const MANY = 6500;
const root = resolve(import.meta.dirname, "../..");

async function countInstructions(kind: ServerKind, requests: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "herald-callgrind-"));
  writeFileSync(join(dir, "apps.json"), JSON.stringify({ apps: [BENCH_APP] }));
  const script =
    kind === "herald"
      ? [join(root, "dist/main.js"), "--host", "127.0.0.1", "--port", "0", "--apps", join(dir, "apps.json")]
      : [join(root, "dist-bench/bench/baseline-server.js"), "--port", "0"];
  // V8 writes machine code at run time: callgrind must watch for it.
  const server = spawn("valgrind", ["--tool=callgrind", "--smc-check=all-non-file", `--callgrind-out-file=${dir}/callgrind.%p`, process.execPath, ...script], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    createInterface({ input: server.stdout! }).on("line", (line) => {
      try {
        const parsed = JSON.parse(line) as { port?: number };
        if (parsed.port) resolvePort(parsed.port);
      } catch {
        // not JSON
      }
    });
    server.once("exit", (code) => reject(new Error(`${kind} under valgrind exited with ${code}`)));
  });
  const pool = ClientPool.start(1);
  await pool.connect(port, BENCH_APP.key, 5);
  await pool.subscribe(() => ["b4"], BENCH_APP.key, BENCH_APP.secret);
  const body = (seq: number) => JSON.stringify({ name: "bench", channels: ["b4"], data: JSON.stringify({ seq, t: clockMs() }) });
  await publishMany(port, `/apps/${BENCH_APP.id}/events`, WARM_UP, body, 8);
  await publishMany(port, `/apps/${BENCH_APP.id}/events`, requests, body, 8);
  await pool.closeSockets();
  pool.stop();
  // Both servers exit on SIGINT, and callgrind writes its counts at exit.
  const exited = new Promise((done) => server.once("exit", done));
  server.kill("SIGINT");
  await exited;
  return readdirSync(dir)
    .filter((file) => file.startsWith("callgrind."))
    .reduce((sum, file) => sum + Number(/^summary: (\d+)/m.exec(readFileSync(join(dir, file), "utf8"))?.[1] ?? 0), 0);
}

async function main(): Promise<void> {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
  } catch {
    console.error("bench:instructions needs valgrind (Debian: apt-get install -y valgrind).");
    process.exit(2);
  }
  const perRequest: Record<string, number> = {};
  for (const kind of ["herald", "baseline"] as const) {
    const few = await countInstructions(kind, FEW);
    const many = await countInstructions(kind, MANY);
    perRequest[kind] = (many - few) / (MANY - FEW);
    console.log(`${kind}: ${(perRequest[kind]! / 1000).toFixed(1)}k user-space instructions per signed POST events`);
  }
  console.log(`herald/baseline: ${(perRequest.herald! / perRequest.baseline!).toFixed(2)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
