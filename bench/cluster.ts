/**
 * The two-node cluster benchmark: Redis and two Herald nodes, events published
 * through node A's HTTP API at rising rates, subscribers on node B (so every
 * delivery crosses Redis) and, for comparison, on node A. Prints delivery
 * latency p50/p99 and deliveries per second at each rate. Then a presence join
 * storm: members spread over both nodes join one channel at once, against the
 * same storm on one node. Last, a third node with as many members (over 200
 * presence channels) is killed, and the bench times how long a survivor takes to
 * clear its members once it has claimed it (the 10 to 13 s before it notices the
 * node is dead are not counted).
 *
 *   npm run bench:cluster
 *   npm run bench:cluster -- --subscribers 200 --rates 500,1000 --seconds 3 --members 500
 */
import { Redis } from "ioredis";
import { parseArgs } from "node:util";
import { ClientPool } from "./lib/client-pool.js";
import { clockMs } from "./lib/histogram.js";
import { publishMany } from "./lib/publisher.js";
import { startRedis } from "../test/helpers/redis-server.js";
import { BENCH_APP, startServer, type ServerUnderTest } from "./lib/servers.js";

const { values } = parseArgs({
  options: {
    subscribers: { type: "string", default: "100" },
    rates: { type: "string", default: "250,500,1000,2000,4000" },
    seconds: { type: "string", default: "4" },
    members: { type: "string", default: "1000" },
  },
});
const subscribers = Number(values.subscribers);
const rates = values.rates.split(",").map(Number);
const stepSeconds = Number(values.seconds);
const members = Number(values.members);
const CHANNEL = "cluster-bench";

interface Step {
  where: string;
  rate: number;
  sentPerSecond: number;
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  complete: number;
}

async function measure(publishTo: ServerUnderTest, subscribeTo: ServerUnderTest, where: string, pool: ClientPool): Promise<Step[]> {
  const { connected } = await pool.connect(subscribeTo.port, BENCH_APP.key, subscribers);
  if (connected !== subscribers) throw new Error(`${connected} of ${subscribers} sockets connected`);
  await pool.subscribe(() => [CHANNEL], BENCH_APP.key, BENCH_APP.secret);
  const steps: Step[] = [];
  let seq = 0;
  const body = () => JSON.stringify({ name: "bench", channel: CHANNEL, data: JSON.stringify({ seq: seq++, t: clockMs() }) });
  for (const rate of rates) {
    await pool.track(0);
    const events = Math.round(rate * stepSeconds);
    const started = clockMs();
    await publishMany(publishTo.port, `/apps/${BENCH_APP.id}/events`, events, body, 64, rate);
    const sentPerSecond = (events / (clockMs() - started)) * 1000;
    await pool.waitForDeliveries(events * subscribers, 5000);
    const elapsedMs = clockMs() - started;
    const report = await pool.report();
    const step = {
      where,
      rate,
      sentPerSecond,
      deliveriesPerSecond: (report.received / elapsedMs) * 1000,
      p50: report.latency.percentile(0.5),
      p99: report.latency.percentile(0.99),
      complete: (100 * report.received) / (events * subscribers),
    };
    steps.push(step);
    console.log(`  ${where} ${rate}/s: sent ${sentPerSecond.toFixed(0)}/s, p50 ${step.p50.toFixed(2)} ms, p99 ${step.p99.toFixed(2)} ms, ${step.complete.toFixed(1)}% delivered`);
    if (step.complete < 99 || step.p99 > 1000) break;
  }
  await pool.closeSockets();
  return steps;
}

/** `nodes` share the members evenly; resolves with the ms from the first subscribe sent to the last success. */
async function presenceStorm(nodes: ServerUnderTest[], pool: ClientPool, channel: string): Promise<number> {
  for (const [index, node] of nodes.entries()) {
    const share = Math.floor(members / nodes.length) + (index < members % nodes.length ? 1 : 0);
    await pool.connect(node.port, BENCH_APP.key, share);
  }
  const report = await pool.subscribe(() => [channel], BENCH_APP.key, BENCH_APP.secret);
  if (report.errors > 0 || report.unanswered > 0) throw new Error(`storm: ${report.errors} errors, ${report.unanswered} unanswered`);
  await pool.closeSockets();
  return report.finishedAt - report.startedAt;
}

/** Kills a node holding `members` presence members; resolves with the ms a survivor took to clear them. */
async function deadNodeCleanup(redisUrl: string, pool: ClientPool): Promise<number> {
  const doomed = await startServer("herald", [], ["--redis", redisUrl]);
  await pool.connect(doomed.port, BENCH_APP.key, members);
  const report = await pool.subscribe((socket) => [`presence-dead-${socket % 200}`], BENCH_APP.key, BENCH_APP.secret);
  if (report.errors > 0 || report.unanswered > 0) throw new Error(`dead node's members: ${report.errors} errors, ${report.unanswered} unanswered`);
  const redis = new Redis(redisUrl);
  try {
    // The node whose record holds the members: the doomed one's number, which only Redis knows. Not
    // by the size of its record: the storms' members may still be in A's and B's (their departures are held).
    let node: string | undefined;
    for (const key of await redis.keys("herald:node:*:members")) if ((await redis.smembers(key)).some((entry) => entry.includes("\npresence-dead-"))) node = key.split(":")[2];
    if (node === undefined) throw new Error("no node's record in Redis holds the doomed node's members");
    process.kill(doomed.pid, "SIGKILL");
    // A survivor clears the node's channel counts, then its members; each record goes when its part is through.
    let membersFrom: number | undefined;
    const deadline = clockMs() + 60_000;
    for (;;) {
      if (clockMs() > deadline) throw new Error(`node ${node}'s records were still in Redis 60 s after it was killed`);
      const [channels, membersLeft] = await Promise.all([redis.exists(`herald:node:${node}:channels`), redis.exists(`herald:node:${node}:members`)]);
      if (channels === 0) membersFrom ??= clockMs();
      if (membersLeft === 0) return clockMs() - membersFrom!;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    redis.disconnect();
    await pool.closeSockets();
  }
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const args = ["--redis", redis.url];
  const [nodeA, nodeB] = await Promise.all([startServer("herald", [], args), startServer("herald", [], args)]);
  const pool = ClientPool.start(2);
  const started = Date.now();
  try {
    console.log(`${subscribers} subscribers of one channel; events published through node A, ${stepSeconds} s per rate`);
    const steps = [...(await measure(nodeA, nodeB, "A → B (through Redis)", pool)), ...(await measure(nodeA, nodeA, "A → A (same node)", pool))];
    console.log("\n| subscribers on | events/s asked | sent | deliveries/s | p50 ms | p99 ms | delivered |");
    console.log("|---|---:|---:|---:|---:|---:|---:|");
    for (const step of steps) {
      console.log(`| ${step.where} | ${step.rate} | ${step.sentPerSecond.toFixed(0)} | ${step.deliveriesPerSecond.toFixed(0)} | ${step.p50.toFixed(2)} | ${step.p99.toFixed(2)} | ${step.complete.toFixed(1)}% |`);
    }
    const spread = await presenceStorm([nodeA, nodeB], pool, "presence-storm-spread");
    const single = await presenceStorm([nodeA], pool, "presence-storm-single");
    console.log(`\n${members}-member presence join storm, ms until every member's subscription_succeeded:`);
    console.log(`| members on | ms |\n|---|---:|\n| nodes A and B | ${spread.toFixed(0)} |\n| node A only | ${single.toFixed(0)} |`);
    const cleared = await deadNodeCleanup(redis.url, pool);
    console.log(`\nA node killed with ${members} presence members: ${cleared.toFixed(0)} ms for a survivor to clear them`);
    console.log(`\n(${Math.round((Date.now() - started) / 1000)} s)`);
  } finally {
    pool.stop();
    await Promise.all([nodeA.stop(), nodeB.stop()]);
    await redis.kill();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
