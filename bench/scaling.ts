/**
 * The scaling run: one Herald process with --workers 1, 2, 4, 8, ..., each under the
 * same fan-out (deliveries/s), the same publishes to users' channels of their own
 * (publishes/s) and the same burst of connections (connections/s), to show what each
 * further thread buys. With --server baseline, the raw baseline on as many threads
 * instead (bench/baseline-server.ts): what the engine's threads buy at most. A worker
 * count above this machine's CPUs is listed as not measured, since threads sharing
 * cores show nothing about scaling (--force runs it anyway).
 *
 *   npm run bench:scaling                          workers 1,2,4,8; fan-out 5000×400; 1000 users × 20000 publishes; 20k connections
 *   npm run bench:scaling -- --workers 1,2,4,8,16 --b2 20000x400 --users 5000x50000 --connections 50000
 *   npm run bench:scaling -- --clients 8           load-generator processes (default: the CPUs the largest run leaves, at least 2)
 *   npm run bench:scaling -- --server baseline     the same runs of the raw baseline
 *
 * Prints one table; writes bench/results/scaling.{json,md} (scaling-baseline.{json,md} for the baseline).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ClientPool } from "./lib/client-pool.js";
import { serverOption, startServer } from "./lib/servers.js";
import { connectionRate, fanOut, userChannels, type Metrics, type Scenario } from "./scenarios.js";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "1,2,4,8" },
    b2: { type: "string", default: "5000x400" },
    users: { type: "string", default: "1000x20000" },
    connections: { type: "string", default: "20000" },
    clients: { type: "string" },
    force: { type: "boolean", default: false },
    smoke: { type: "boolean", default: false },
    server: { type: "string", default: "herald" },
  },
});
const server = serverOption(values.server);

const cpuCount = availableParallelism();
const workerCounts = values.workers.split(",").map(Number);
const [subscribers, events] = (values.smoke ? "200x20" : values.b2).split("x").map(Number) as [number, number];
const [users, publishes] = (values.smoke ? "100x500" : values.users).split("x").map(Number) as [number, number];
const connections = values.smoke ? 300 : Number(values.connections);
const measured = workerCounts.filter((count) => values.force || count <= cpuCount);
const clients = Number(values.clients ?? Math.max(2, cpuCount - Math.max(...measured, 1)));

/** The columns: [scenario, metric key, heading]. */
const COLUMNS: Array<[Scenario, string, string]> = (() => {
  // More publishes in flight than B2's 4, so that every thread has deliveries to make at once.
  const fan = fanOut(subscribers, events, 32);
  const connect = connectionRate(connections);
  const sparse = userChannels(users, publishes);
  return [
    [fan, "deliveriesPerSecond", "deliveries/s"],
    [fan, "totalUsPerDelivery", "CPU µs/delivery"],
    [fan, "p99Ms", "p99 ms"],
    [fan, "completePercent", "exactly once %"],
    [sparse, "publishesPerSecond", "user-channel publishes/s"],
    [sparse, "usPerPublish", "CPU µs/publish"],
    [connect, "connectionsPerSecond", "connections/s"],
    [connect, "cpuPerConnectionUs", "CPU µs/connection"],
    [connect, "rssMb", `RSS MB (${connections})`],
  ];
})();

async function measure(workers: number, pool: ClientPool): Promise<Map<Scenario, Metrics>> {
  const results = new Map<Scenario, Metrics>();
  for (const scenario of new Set(COLUMNS.map(([column]) => column))) {
    if (scenario.unavailable) throw new Error(`${scenario.name}: ${scenario.unavailable}`);
    const running = await startServer(server, [], ["--workers", String(workers)]);
    try {
      results.set(scenario, await scenario.run(running, pool));
    } finally {
      await pool.closeSockets();
      await running.stop();
    }
  }
  return results;
}

const format = (value: number) => (value >= 100 ? Math.round(value).toLocaleString("en") : value.toFixed(2));

async function main(): Promise<void> {
  const machine = `${cpuCount} CPUs available (${cpus()[0]?.model ?? "unknown CPU"}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(`${machine}; ${clients} load-generator processes on the same machine; ${server === "herald" ? "Herald" : "the raw baseline"}`);
  const pool = ClientPool.start(clients);
  const lines = [`| workers | ${COLUMNS.map(([, , heading]) => heading).join(" | ")} |`, `|---:|${COLUMNS.map(() => "---:").join("|")}|`];
  const raw: Record<string, Record<string, Metrics> | string> = {};
  try {
    for (const workers of workerCounts) {
      if (!measured.includes(workers)) {
        const why = `not measured: this machine has ${cpuCount} CPUs`;
        lines.push(`| ${workers} | ${why} |${COLUMNS.slice(1).map(() => "").join("|")}|`);
        raw[workers] = why;
        continue;
      }
      console.log(`--workers ${workers} ...`);
      const results = await measure(workers, pool);
      raw[workers] = Object.fromEntries([...results].map(([scenario, metrics]) => [scenario.name, metrics]));
      lines.push(`| ${workers} | ${COLUMNS.map(([scenario, key]) => format(results.get(scenario)![key]!)).join(" | ")} |`);
    }
  } finally {
    pool.stop();
  }
  const command = `npm run bench:scaling${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  const output = [`Machine: ${machine}  `, `Server: ${server === "herald" ? "Herald" : "the raw baseline (bench/baseline-server.ts)"}  `, `Command: \`${command}\`; fan-out ${subscribers}×${events}, ${users} user channels × ${publishes} publishes, ${connections} connections, ${clients} client processes`, "", ...lines, ""].join("\n");
  console.log(`\n${output}`);
  const outDir = resolve(import.meta.dirname, "../../bench/results");
  mkdirSync(outDir, { recursive: true });
  const name = server === "herald" ? "scaling" : "scaling-baseline";
  writeFileSync(resolve(outDir, `${name}.json`), JSON.stringify({ date: new Date().toISOString(), machine, server, command, raw }, null, 2));
  writeFileSync(resolve(outDir, `${name}.md`), `Date: ${new Date().toISOString()}  \n${output}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
