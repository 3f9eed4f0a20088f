/**
 * The benchmark: every scenario against Herald, then against the raw uWebSockets.js
 * baseline, on the same machine with the same load. Prints one table and writes
 * JSON and Markdown to bench/results/.
 *
 *   npm run bench                      the default run (about 3 minutes)
 *   npm run bench -- --smoke           tiny sizes, to check the harness works
 *   npm run bench -- --only B2,B5      some scenarios
 *   npm run bench -- --b1 10000,50000  other idle-connection sizes
 *   npm run bench -- --b2 5000x1000    other fan-out sizes (subscribers x events)
 *   npm run bench -- --b4 50000        more signed publishes
 *   npm run bench -- --b4-subscribers 1  B4 to one subscriber (a user's private channel)
 *   npm run bench -- --b5 100,2000     other presence storm sizes
 *   npm run bench -- --profile         write V8 CPU profiles of both servers to bench/results/profiles
 *                                      (with --workers, each thread's in bench/results/profiles/<scenario>-<server>/)
 *   npm run bench -- --workers 2       both servers on two worker threads (CPU is the whole process's): the
 *                                      baseline's is the least that crossing threads costs on this stack
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ClientPool } from "./lib/client-pool.js";
import { median, table, type Row } from "./lib/results.js";
import { startServer, type ServerKind } from "./lib/servers.js";
import { fanOut, idleConnections, manyChannels, presenceStorm, publishCost, subscribeCost, type Metrics, type Scenario } from "./scenarios.js";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    only: { type: "string" },
    b1: { type: "string" },
    b2: { type: "string" },
    b4: { type: "string" },
    "b4-subscribers": { type: "string" },
    b5: { type: "string" },
    out: { type: "string" },
    profile: { type: "boolean", default: false },
    /** Both servers with --workers N: what crossing threads costs Herald, and at least. */
    workers: { type: "string" },
  },
});
const workerArgs = values.workers ? ["--workers", values.workers] : [];
/** The servers' threads, for the warm-ups that each thread needs for itself. */
const threads = values.workers === undefined ? 1 : values.workers === "auto" ? availableParallelism() : Number(values.workers);

const numbers = (list: string | undefined, fallback: number[]) => (list ? list.split(",").map(Number) : fallback);

function scenarios(): Scenario[] {
  if (values.smoke) {
    return [idleConnections(200), fanOut(100, 20), manyChannels(200, 100, [200], 1), publishCost(200), presenceStorm(20, { warmJoins: 600, threads }), subscribeCost(100)];
  }
  return [
    ...numbers(values.b1, [10_000, 19_000, 50_000]).map((count) => idleConnections(count)),
    ...(values.b2 ? values.b2.split(",") : ["1000x2000", "5000x400"]).map((size) => {
      const [subscribers, events] = size.split("x").map(Number);
      return fanOut(subscribers!, events!);
    }),
    manyChannels(10_000, 5000, [2000, 4000, 6000, 8000, 12_000, 16_000], 2),
    publishCost(Number(values.b4 ?? 10_000), Number(values["b4-subscribers"] ?? 5)),
    // Small storms repeat on fresh channels so their CPU time spans enough clock ticks.
    ...numbers(values.b5, [100, 1000]).map((members) => presenceStorm(members, { repeats: members < 1000 ? 10 : 1, threads })),
    subscribeCost(5000),
  ];
}

/** Each metric's median over the rounds (the value itself for one round). */
function medians(rounds: Metrics[]): Metrics {
  const result: Metrics = {};
  for (const key of Object.keys(rounds[0]!)) result[key] = median(rounds.map((metrics) => metrics[key]!));
  return result;
}

function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  return `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${kernel}, Node ${process.version}`;
}

async function main(): Promise<void> {
  const only = values.only?.split(",");
  const selected = scenarios().filter((scenario) => !only || only.some((name) => scenario.name.startsWith(name)));
  const pool = ClientPool.start(2);
  const rows: Row[] = [];
  const raw: Record<string, Record<ServerKind, Metrics>> = {};
  const skipped: string[] = [];
  const started = Date.now();
  try {
    for (const scenario of selected) {
      if (scenario.unavailable) {
        skipped.push(`${scenario.name}: ${scenario.unavailable}`);
        console.log(`${scenario.name}: skipped, ${scenario.unavailable}`);
        continue;
      }
      console.log(`${scenario.name} ...`);
      const scenarioStarted = Date.now();
      const rounds: Record<ServerKind, Metrics[]> = { herald: [], baseline: [] };
      for (let round = 0; round < (scenario.rounds ?? 1); round++) {
        for (const kind of ["herald", "baseline"] as const) {
          const profileDir = resolve(import.meta.dirname, "../../bench/results/profiles");
          const profileName = `${scenario.name.split(" ")[0]}-${kind}`;
          // With worker threads each thread writes a profile: Node names them, in a folder per scenario and server.
          const profileFlags = !values.profile
            ? []
            : values.workers
              ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}/${profileName}`]
              : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName}.cpuprofile`];
          const server = await startServer(kind, [...(scenario.nodeFlags ?? []), ...profileFlags], workerArgs);
          try {
            const metrics = await scenario.run(server, pool);
            rounds[kind].push(metrics);
            if ((scenario.rounds ?? 1) > 1) console.log(`  round ${round + 1} ${kind}: ${JSON.stringify(metrics, (_, value: unknown) => (typeof value === "number" ? Number(value.toFixed(2)) : value))}`);
          } finally {
            await pool.closeSockets();
            await server.stop();
          }
        }
      }
      const results = { herald: medians(rounds.herald), baseline: medians(rounds.baseline) };
      raw[scenario.name] = results;
      console.log(`  (${((Date.now() - scenarioStarted) / 1000).toFixed(0)} s)`);
      for (const metric of scenario.metrics) {
        rows.push({ scenario: scenario.name, metric: metric.label, herald: results.herald[metric.key]!, baseline: results.baseline[metric.key]!, better: metric.better });
      }
    }
  } finally {
    pool.stop();
  }

  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const output = table(rows);
  console.log(`\n${output}\n`);
  const seconds = Math.round((Date.now() - started) / 1000);
  const outDir = resolve(import.meta.dirname, "../../bench/results");
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString();
  const json = values.out ?? resolve(outDir, "latest.json");
  writeFileSync(json, JSON.stringify({ date: stamp, machine: machine(), command, seconds, rows, raw, skipped }, null, 2));
  const markdown = [
    `Date: ${stamp}  `,
    `Machine: ${machine()}  `,
    `Command: \`${command}\` (${seconds} s)`,
    "",
    output,
    ...(skipped.length ? ["", "Skipped:", ...skipped.map((line) => `- ${line}`)] : []),
    "",
  ].join("\n");
  writeFileSync(resolve(outDir, "latest.md"), markdown);
  console.log(`Wrote ${json} and ${resolve(outDir, "latest.md")} in ${seconds} s.`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
