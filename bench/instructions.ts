/**
 * User-space instructions, counted by valgrind's callgrind, for Herald and the
 * baseline: per signed `POST events` to 5 subscribers (the B4 shape), per delivery
 * to a channel of 1,000 (the B2 shape), per subscribe to a channel of 10 (S1's) and
 * per WebSocket connection opened and closed (B1's, without its idle wait) and per
 * presence join in storms of 100 (B5's small storm).
 * Instruction counts do not depend on what else the machine is doing, so they
 * settle what the kernel's sampled user/system split of CPU time cannot.
 *
 * Each server runs twice under callgrind, after the same warm-up, with few and
 * with many events; the difference divided by the extra events removes start-up
 * and warm-up from the count. The cold shape has no warm-up and no "few": it counts
 * what a server that just started pays for its first requests, JIT compilation
 * (on V8's background threads, which callgrind counts too) included.
 *
 *   npm run bench:instructions                (needs valgrind: apt-get install valgrind)
 *   npm run bench:instructions -- --only cold  the shapes whose key contains "cold"
 *   npm run bench:instructions -- --workers 2  Herald on 2 worker threads against Herald on one,
 *                                              in place of the baseline: what crossing threads
 *                                              costs in user space, without the wake-ups' noise
 *   npm run bench:instructions -- --workers 2 --server baseline
 *                                              the same for the baseline: the least it costs
 *   npm run bench:instructions -- --repeat 3   each count three times, alternating, the median printed with
 *                                              the range: on worker threads the JIT's timing moves a count
 *                                              by up to a quarter between runs (bench/RESULTS.md, S1)
 *   HERALD_KEEP_CALLGRIND=1 npm run bench:instructions   keep (and name) each run's callgrind output
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { ClientPool } from "./lib/client-pool.js";
import { clockMs } from "./lib/histogram.js";
import { cpuTime } from "./lib/proc.js";
import { publishMany } from "./lib/publisher.js";
import { median } from "./lib/results.js";
import { BENCH_APP, serverOption, type ServerKind } from "./lib/servers.js";

interface Shape {
  key: string;
  name: string;
  unit: string;
  subscribers: number;
  warmUp: number;
  few: number;
  many: number;
}

const SHAPES: Shape[] = [
  { key: "B4", name: "signed POST events, 5 subscribers (B4)", unit: "per request", subscribers: 5, warmUp: 6000, few: 500, many: 6500 },
  { key: "B4-cold", name: "the first 2,000 signed POST events after start, 5 subscribers", unit: "per request", subscribers: 5, warmUp: 0, few: 0, many: 2000 },
  { key: "B2", name: "fan-out to 1,000 subscribers (B2)", unit: "per delivery", subscribers: 1000, warmUp: 300, few: 20, many: 420 },
  // Public channels of 10, 1,000 sockets each subscribing to a share of them (S1's small channels).
  // A long warm-up: on worker threads, TurboFan was still compiling the subscribe path past 100,000.
  { key: "S1", name: "a subscribe to a channel of 10 (S1)", unit: "per subscribe", subscribers: 1000, warmUp: 40000, few: 1000, many: 11000 },
  // 10,000 connections counted: each leaves garbage for the old generation, and one full
  // collection (about 40M instructions) falling into a span of 2,000 or not moved the count by 20k.
  { key: "B1", name: "a WebSocket connection, opened and closed (B1)", unit: "per connection", subscribers: 0, warmUp: 4000, few: 200, many: 10200 },
  // Storms of 100 presence joins, each on a fresh channel (B5's small storm); every join's leave
  // is counted too, when the sockets close. Counts are whole storms. A long warm-up: on worker
  // threads `--trace-opt` shows TurboFan first compiling the join path past 5,000 joins per thread.
  { key: "B5", name: "a presence join in storms of 100 (B5)", unit: "per join", subscribers: 100, warmUp: 10000, few: 500, many: 2500 },
];
const root = resolve(import.meta.dirname, "../..");
const CONNECTION_BATCH = 5000;

/** What runs under callgrind: the baseline or Herald, on this many worker threads. */
interface Counted {
  kind: ServerKind;
  workers: number;
}

async function countInstructions({ kind, workers: threads }: Counted, shape: Shape, requests: number): Promise<number> {
  const workers = threads > 1 ? ["--workers", String(threads)] : [];
  const dir = mkdtempSync(join(tmpdir(), "herald-callgrind-"));
  writeFileSync(join(dir, "apps.json"), JSON.stringify({ apps: [BENCH_APP] }));
  const script =
    kind === "herald"
      ? [join(root, "dist/main.js"), "--host", "127.0.0.1", "--port", "0", "--apps", join(dir, "apps.json"), ...workers]
      : [join(root, "dist-bench/bench/baseline-server.js"), "--port", "0", ...workers];
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
  if (shape.unit === "per connection") {
    // The warm-up's connections, then the counted ones, each opened and closed, in batches
    // that stay well under the open-file limit (20,000 here) on both sides.
    for (let left = shape.warmUp + requests; left > 0; left -= CONNECTION_BATCH) {
      const { failed } = await pool.connect(port, BENCH_APP.key, Math.min(left, CONNECTION_BATCH));
      if (failed > 0) throw new Error(`${failed} of the bench's WebSocket connections failed`);
      await pool.closeSockets();
    }
  } else if (shape.unit === "per subscribe") {
    await pool.connect(port, BENCH_APP.key, shape.subscribers);
    for (const [phase, count] of [["warm", shape.warmUp], ["counted", requests]] as const) {
      const perSocket = count / shape.subscribers;
      const { errors, unanswered } = await pool.subscribe(
        (socket) => Array.from({ length: perSocket }, (_, j) => `${phase}-${j}-${Math.floor(socket / 10)}`),
        BENCH_APP.key,
        BENCH_APP.secret,
      );
      if (errors + unanswered > 0) throw new Error(`${errors + unanswered} of the bench's subscribes failed`);
    }
    await pool.closeSockets();
  } else if (shape.unit === "per join") {
    // The warm-up in two rounds, each with its leaves, before the count. When the sockets closing
    // was the first the server saw of the leave path, TurboFan compiled it within the counted span
    // (on two threads, 15k to 70k per join from run to run). And the first leaves deoptimize the
    // join path's functions that took the hub's answers (`--trace-deopt`: wrong map, too little
    // type feedback), which TurboFan compiled again in the storms after them: on two threads 150
    // lines of `--trace-opt` in the 50 storms after the first leaves, 30 after the second, 10
    // after the third.
    const again = Math.ceil(shape.warmUp / 4 / shape.subscribers) * shape.subscribers;
    for (const [phase, joins] of [["warm", shape.warmUp], ["warm-again", again], ["counted", requests]] as const) {
      await pool.connect(port, BENCH_APP.key, shape.subscribers);
      for (let storm = 0; storm < joins / shape.subscribers; storm++) {
        const { errors, unanswered } = await pool.subscribe(() => [`presence-${phase}-${storm}`], BENCH_APP.key, BENCH_APP.secret);
        if (errors + unanswered > 0) throw new Error(`${errors + unanswered} of the bench's presence joins failed`);
        // As B5: the last member_added frames drain before the next storm.
        await new Promise((done) => setTimeout(done, 50));
      }
      await pool.closeSockets();
      if (phase !== "counted") await quiet(server.pid!);
    }
  } else {
    await pool.connect(port, BENCH_APP.key, shape.subscribers);
    await pool.subscribe(() => ["measured"], BENCH_APP.key, BENCH_APP.secret);
    const body = (seq: number) => JSON.stringify({ name: "bench", channels: ["measured"], data: JSON.stringify({ seq, t: clockMs() }) });
    await pool.track(0);
    await publishMany(port, `/apps/${BENCH_APP.id}/events`, shape.warmUp, body, 8);
    await publishMany(port, `/apps/${BENCH_APP.id}/events`, requests, body, 8);
    await pool.waitForDeliveries((shape.warmUp + requests) * shape.subscribers);
    await pool.closeSockets();
  }
  pool.stop();
  await quiet(server.pid!);
  // Both servers exit on SIGINT, and callgrind writes its counts at exit.
  const exited = new Promise((done) => server.once("exit", done));
  server.kill("SIGINT");
  await exited;
  const total = readdirSync(dir)
    .filter((file) => file.startsWith("callgrind."))
    .reduce((sum, file) => sum + Number(/^summary: (\d+)/m.exec(readFileSync(join(dir, file), "utf8"))?.[1] ?? 0), 0);
  // Each output is megabytes; keep one with HERALD_KEEP_CALLGRIND=1, for callgrind_annotate.
  if (!process.env.HERALD_KEEP_CALLGRIND) rmSync(dir, { recursive: true, force: true });
  else console.log(`  ${[kind, ...workers].join(" ")}, ${requests} requests: ${dir}`);
  return total;
}

/**
 * Resolves once the server has done what the closed sockets left it: under valgrind their
 * leaves took Herald on two threads 14 s after a storm shape, and a SIGINT before that
 * ended past the stop's 10 s grace, whose forced exit was counted (4,000 errors and their stacks).
 */
async function quiet(pid: number): Promise<void> {
  let last = cpuTime(pid).runMs;
  for (let calm = 0, waited = 0; calm < 2 && waited < 300_000; waited += 500) {
    await new Promise((done) => setTimeout(done, 500));
    const now = cpuTime(pid).runMs;
    // Idle under valgrind, Herald's timers take 10 to 30 ms of each 500.
    calm = now - last < 100 ? calm + 1 : 0;
    last = now;
  }
}

async function main(): Promise<void> {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
  } catch {
    console.error("bench:instructions needs valgrind (Debian: apt-get install -y valgrind).");
    process.exit(2);
  }
  const { values } = parseArgs({ options: { only: { type: "string" }, workers: { type: "string" }, repeat: { type: "string" }, server: { type: "string", default: "herald" } } });
  const workers = Number(values.workers ?? 1);
  const repeat = Number(values.repeat ?? 1);
  for (const [option, value] of [["workers", workers], ["repeat", repeat]] as const) {
    if (Number.isInteger(value) && value >= 1) continue;
    console.error(`--${option} takes a whole number, 1 or more, not "${values[option]}".`);
    process.exit(2);
  }
  const server = serverOption(values.server);
  // With --workers, the server on that many threads is compared with itself on one.
  const compared: [string, Counted][] =
    workers === 1
      ? [["herald", { kind: "herald", workers: 1 }], ["baseline", { kind: "baseline", workers: 1 }]]
      : [[`${server} --workers ${workers}`, { kind: server, workers }], [server, { kind: server, workers: 1 }]];
  for (const asked of SHAPES.filter(({ key }) => !values.only || key.toLowerCase().includes(values.only.toLowerCase()))) {
    // With --workers the warm shapes warm each thread up as much as one thread (each takes
    // its share of the requests and compiles its own code), and count four times as many
    // events between the two runs: when each thread sleeps varies from run to run.
    const shape = workers > 1 && asked.few > 0 ? { ...asked, warmUp: asked.warmUp * workers, many: asked.few + 4 * (asked.many - asked.few) } : asked;
    const runs: number[][] = compared.map(() => []);
    for (let run = 0; run < repeat; run++) {
      for (const [index, [, counted]] of compared.entries()) {
        const few = await countInstructions(counted, shape, shape.few);
        const many = await countInstructions(counted, shape, shape.many);
        const perEvent = (many - few) / (shape.many - shape.few);
        runs[index]!.push(shape.unit === "per delivery" ? perEvent / shape.subscribers : perEvent);
      }
    }
    const counts = runs.map(median);
    const shown = (index: number) => {
      const k = (count: number) => `${(count / 1000).toFixed(2)}k`;
      const range = repeat > 1 ? ` (${runs[index]!.map(k).join(", ")})` : "";
      return `${compared[index]![0]} ${k(counts[index]!)}${range}`;
    };
    const [first, second] = compared.map(([name]) => name) as [string, string];
    console.log(
      `${shape.name}: ${shown(0)}, ${shown(1)} user-space instructions ${shape.unit}${repeat > 1 ? `, medians of ${repeat} runs` : ""} ` +
        `(${first}/${second} ${(counts[0]! / counts[1]!).toFixed(2)})`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
