/**
 * The benchmark scenarios. Each runs against one server process and returns its
 * numbers; the runner runs it for Herald and the baseline in turn.
 */
import type { ClientPool } from "./lib/client-pool.js";
import { clockMs } from "./lib/histogram.js";
import { cpuSince, cpuTime, openFileLimit, rssKb, type CpuTime } from "./lib/proc.js";
import { collectGarbage } from "./lib/inspector.js";
import { publishMany } from "./lib/publisher.js";
import { BENCH_APP, type ServerUnderTest } from "./lib/servers.js";

export type Metrics = Record<string, number>;

export interface MetricSpec {
  key: string;
  label: string;
  better: "lower" | "higher";
}

export interface Scenario {
  name: string;
  /** Extra flags for the server's Node. */
  nodeFlags?: string[];
  /** Runs alternating Herald and the baseline; each metric reports the median of its rounds. */
  rounds?: number;
  metrics: MetricSpec[];
  /** Why it cannot run on this machine, if it cannot. */
  unavailable?: string;
  run(server: ServerUnderTest, pool: ClientPool): Promise<Metrics>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const totalMs = (cpu: CpuTime) => cpu.runMs;
const { key, secret } = BENCH_APP;

function eventBody(seq: number, channel: string): string {
  return JSON.stringify({ name: "bench", channels: [channel], data: JSON.stringify({ seq, t: clockMs() }) });
}

/** Opens `count` more sockets; `expectedTotal` is how many the pool should then hold. */
async function connectAll(server: ServerUnderTest, pool: ClientPool, count: number, expectedTotal = count): Promise<void> {
  const { connected, failed } = await pool.connect(server.port, key, count);
  if (failed > 0 || connected !== expectedTotal) {
    throw new Error(`${server.kind}: ${connected} sockets open of ${expectedTotal} expected (${failed} failed)`);
  }
}

async function subscribeAll(pool: ClientPool, channelsOf: (socket: number) => string[]): Promise<{ spanMs: number }> {
  const report = await pool.subscribe(channelsOf, key, secret);
  if (report.errors > 0 || report.unanswered > 0) {
    throw new Error(`subscriptions failed: ${report.errors} errors, ${report.unanswered} unanswered`);
  }
  return { spanMs: report.finishedAt - report.startedAt };
}

/**
 * B1: memory and CPU per idle connection. RSS is read after a forced full GC
 * (through the inspector), before and after the connections, past a warm-up that
 * lets the engine's own structures reach their working size.
 */
export function idleConnections(count: number): Scenario {
  const warmUp = 500;
  const limit = openFileLimit();
  return {
    name: `B1 idle ${count / 1000}k`,
    nodeFlags: ["--inspect=127.0.0.1:0"],
    unavailable:
      count + warmUp + 200 > limit
        ? `needs an open-file limit above ${count + warmUp + 200}; this process has ${limit} and the machine does not allow raising it (ulimit -n)`
        : undefined,
    metrics: [
      { key: "rssPerConnectionKb", label: "RSS KB per idle connection", better: "lower" },
      { key: "cpuPerConnectionUs", label: "CPU µs per connection (user+sys)", better: "lower" },
      { key: "sleepsPerConnection", label: "server threads' sleeps per connection", better: "lower" },
    ],
    async run(server, pool) {
      const settledRss = async () => {
        await sleep(500);
        await collectGarbage(server.inspectorUrl!);
        await sleep(500);
        return rssKb(server.pid);
      };
      await connectAll(server, pool, warmUp);
      const rssBefore = await settledRss();
      const cpuStart = cpuTime(server.pid);
      await connectAll(server, pool, count, warmUp + count);
      const cpu = cpuSince(server.pid, cpuStart);
      return {
        rssPerConnectionKb: ((await settledRss()) - rssBefore) / count,
        cpuPerConnectionUs: (totalMs(cpu) * 1000) / count,
        sleepsPerConnection: cpu.sleeps / count,
      };
    },
  };
}

/**
 * S2, for the scaling run: how fast connections are opened (connection_established
 * each), what each costs, and the process's memory once they are all open.
 */
export function connectionRate(count: number): Scenario {
  const limit = openFileLimit();
  return {
    name: `S2 connect ${count / 1000}k`,
    unavailable: count + 200 > limit ? `needs an open-file limit above ${count + 200}; this process has ${limit} (ulimit -n)` : undefined,
    metrics: [
      { key: "connectionsPerSecond", label: "connections/s", better: "higher" },
      { key: "cpuPerConnectionUs", label: "CPU µs per connection", better: "lower" },
      { key: "rssMb", label: `RSS MB with ${count} open`, better: "lower" },
    ],
    async run(server, pool) {
      const cpuStart = cpuTime(server.pid);
      const started = clockMs();
      await connectAll(server, pool, count);
      const elapsedMs = clockMs() - started;
      const cpu = cpuSince(server.pid, cpuStart);
      return { connectionsPerSecond: (count / elapsedMs) * 1000, cpuPerConnectionUs: (totalMs(cpu) * 1000) / count, rssMb: rssKb(server.pid) / 1024 };
    },
  };
}

/** B2: one channel, many subscribers, a fixed series of events over the signed HTTP API. */
export function fanOut(subscribers: number, events: number, inFlight = 4): Scenario {
  return {
    name: `B2 fan-out ${subscribers}×${events}`,
    metrics: [
      { key: "userUsPerDelivery", label: "user CPU µs per delivery", better: "lower" },
      { key: "totalUsPerDelivery", label: "total CPU µs per delivery", better: "lower" },
      { key: "deliveriesPerSecond", label: "deliveries/s", better: "higher" },
      { key: "p50Ms", label: "latency p50 ms", better: "lower" },
      { key: "p99Ms", label: "latency p99 ms", better: "lower" },
      { key: "completePercent", label: "complete % (exactly once)", better: "higher" },
      { key: "missing", label: "deliveries missing", better: "lower" },
      { key: "duplicates", label: "deliveries duplicated", better: "lower" },
      { key: "subscribeUs", label: `CPU µs per subscribe (channel of ${subscribers})`, better: "lower" },
    ],
    async run(server, pool) {
      await connectAll(server, pool, subscribers);
      const subscribeStart = cpuTime(server.pid);
      await subscribeAll(pool, () => ["fanout"]);
      const subscribeCpu = cpuSince(server.pid, subscribeStart);
      // Unmeasured warm-up events, so the series meets optimised code in either server.
      await publishMany(server.port, `/apps/${BENCH_APP.id}/events`, 50, (seq) => eventBody(seq, "fanout"), inFlight);
      await pool.waitForDeliveries(50 * subscribers, 3000);
      await sleep(200);
      await pool.track(events);
      const cpuStart = cpuTime(server.pid);
      const started = clockMs();
      const { failed } = await publishMany(server.port, `/apps/${BENCH_APP.id}/events`, events, (seq) => eventBody(seq, "fanout"), inFlight);
      const expected = subscribers * events;
      await pool.waitForDeliveries(expected);
      const elapsedMs = clockMs() - started;
      const cpu = cpuSince(server.pid, cpuStart);
      const report = await pool.report();
      if (failed > 0) throw new Error(`${failed} publishes failed`);
      return {
        userUsPerDelivery: (cpu.userMs * 1000) / expected,
        totalUsPerDelivery: (totalMs(cpu) * 1000) / expected,
        deliveriesPerSecond: (report.received / elapsedMs) * 1000,
        p50Ms: report.latency.percentile(0.5),
        p99Ms: report.latency.percentile(0.99),
        completePercent: ((expected - report.missing - report.duplicates) / expected) * 100,
        missing: report.missing,
        duplicates: report.duplicates,
        subscribeUs: (totalMs(subscribeCpu) * 1000) / subscribers,
      };
    },
  };
}

/**
 * Many users, each alone on a channel of its own (as Laravel's
 * private-App.Models.User.{id}), published to in turn over the signed HTTP API, 32 in
 * flight: a publish whose subscriber is on one thread, whatever the number of threads.
 */
export function userChannels(users: number, publishes: number): Scenario {
  const body = (seq: number) => eventBody(seq, `user-${seq % users}`);
  return {
    name: `user channels ${users}×${publishes}`,
    metrics: [
      { key: "publishesPerSecond", label: "publishes/s", better: "higher" },
      { key: "usPerPublish", label: "CPU µs per publish", better: "lower" },
    ],
    async run(server, pool) {
      await connectAll(server, pool, users);
      await subscribeAll(pool, (socket) => [`user-${socket}`]);
      // Unmeasured warm-up, so the series meets optimised code.
      await pool.track(0);
      await publishMany(server.port, `/apps/${BENCH_APP.id}/events`, 2000, body, 32);
      await pool.waitForDeliveries(2000);
      await pool.track(0);
      const cpuStart = cpuTime(server.pid);
      const started = clockMs();
      const { failed } = await publishMany(server.port, `/apps/${BENCH_APP.id}/events`, publishes, body, 32);
      await pool.waitForDeliveries(publishes);
      const elapsedMs = clockMs() - started;
      const cpu = cpuSince(server.pid, cpuStart);
      if (failed > 0) throw new Error(`${failed} publishes failed`);
      return { publishesPerSecond: (publishes / elapsedMs) * 1000, usPerPublish: (totalMs(cpu) * 1000) / publishes };
    },
  };
}

/**
 * B3: many connections on many small channels, the event rate rising until p99
 * passes 50 ms. Events go out in batch_events of 10 (each to a random channel),
 * so the load generator's HTTP client is not the first thing to saturate.
 */
export function manyChannels(connections: number, channels: number, rates: number[], stepSeconds: number): Scenario {
  const perSocket = 5;
  const perRequest = 10;
  const subscribersPerChannel = (connections * perSocket) / channels;
  return {
    name: `B3 ${connections / 1000}k sockets × ${perSocket} of ${channels} channels`,
    metrics: [
      { key: "maxRate", label: "max events/s with p99 ≤ 50 ms", better: "higher" },
      { key: "p99AtMax", label: "p99 ms at that rate", better: "lower" },
      { key: "totalUsPerDelivery", label: "total CPU µs per delivery at that rate", better: "lower" },
      { key: "userUsPerDelivery", label: "user CPU µs per delivery at that rate", better: "lower" },
    ],
    async run(server, pool) {
      await connectAll(server, pool, connections);
      // Socket n takes channels 5n … 5n+4 (mod channels): every channel gets the same number of subscribers.
      await subscribeAll(pool, (socket) => Array.from({ length: perSocket }, (_, j) => `many-${(socket * perSocket + j) % channels}`));
      const best = { maxRate: 0, p99AtMax: NaN, totalUsPerDelivery: NaN, userUsPerDelivery: NaN };
      let seq = 0;
      const batch = () =>
        JSON.stringify({
          batch: Array.from({ length: perRequest }, () => ({
            name: "bench",
            channel: `many-${Math.floor(Math.random() * channels)}`,
            data: JSON.stringify({ seq: seq++, t: clockMs() }),
          })),
        });
      for (const rate of rates) {
        await pool.track(0);
        const requests = Math.round((rate * stepSeconds) / perRequest);
        const expected = requests * perRequest * subscribersPerChannel;
        const cpuStart = cpuTime(server.pid);
        const started = clockMs();
        await publishMany(server.port, `/apps/${BENCH_APP.id}/batch_events`, requests, batch, 64, rate / perRequest);
        const achievedRate = ((requests * perRequest) / (clockMs() - started)) * 1000;
        await pool.waitForDeliveries(expected, 3000);
        const cpu = cpuSince(server.pid, cpuStart);
        const report = await pool.report();
        const p99 = report.latency.percentile(0.99);
        const complete = report.received >= expected;
        process.stdout.write(`    ${server.kind} ${rate}/s: sent ${achievedRate.toFixed(0)}/s, p99 ${p99.toFixed(2)} ms, ${complete ? "complete" : `${report.received} of ${expected}`}\n`);
        if (p99 > 50 || !complete || achievedRate < rate * 0.9) break;
        Object.assign(best, {
          maxRate: rate,
          p99AtMax: p99,
          totalUsPerDelivery: (totalMs(cpu) * 1000) / report.received,
          userUsPerDelivery: (cpu.userMs * 1000) / report.received,
        });
      }
      return best;
    },
  };
}

/** B4: signed publishes, single and batched, 32 in flight, to 5 subscribers (or `subscribers`). */
export function publishCost(requests: number, subscribers = 5): Scenario {
  const batchSize = 10;
  return {
    name: `B4 publish ×${requests}${subscribers === 5 ? "" : ` to ${subscribers}`}`,
    rounds: 3,
    metrics: [
      // What a server that just started pays: the code is not optimised yet (the issue-16 harness measured this).
      { key: "usPerColdPublish", label: "CPU µs per POST events, first 2000 after start", better: "lower" },
      { key: "usPerPublish", label: "CPU µs per POST events", better: "lower" },
      { key: "userUsPerPublish", label: "user CPU µs per POST events", better: "lower" },
      // Each sleep is a wake-up to pay for: on this VM, much of what a second thread adds.
      { key: "sleepsPerPublish", label: "server threads' sleeps per POST events", better: "lower" },
      { key: "usPerBatch", label: `CPU µs per POST batch_events (${batchSize})`, better: "lower" },
      { key: "usPerBatchedEvent", label: "CPU µs per batched event", better: "lower" },
    ],
    async run(server, pool) {
      await connectAll(server, pool, subscribers);
      await subscribeAll(pool, () => ["b4"]);
      // The first publishes after start, measured apart: they warm the code up, so the
      // steady-state figures below are measured with both servers' code optimised.
      await pool.track(0);
      const coldStart = cpuTime(server.pid);
      await publishMany(server.port, `/apps/${BENCH_APP.id}/events`, 2000, (seq) => eventBody(seq, "b4"), 32);
      await pool.waitForDeliveries(subscribers * 2000);
      const coldCpu = cpuSince(server.pid, coldStart);
      await publishMany(server.port, `/apps/${BENCH_APP.id}/batch_events`, 200, () => JSON.stringify({ batch: [{ name: "warm", channel: "b4", data: "{}" }] }), 32);
      await sleep(200);
      await pool.track(0);
      let cpuStart = cpuTime(server.pid);
      const single = await publishMany(server.port, `/apps/${BENCH_APP.id}/events`, requests, (seq) => eventBody(seq, "b4"), 32);
      await pool.waitForDeliveries(subscribers * requests);
      const singleCpu = cpuSince(server.pid, cpuStart);
      const batches = Math.ceil(requests / batchSize);
      cpuStart = cpuTime(server.pid);
      const batch = await publishMany(
        server.port,
        `/apps/${BENCH_APP.id}/batch_events`,
        batches,
        (index) =>
          JSON.stringify({
            batch: Array.from({ length: batchSize }, (_, j) => ({ name: "bench", channel: "b4", data: JSON.stringify({ seq: index * batchSize + j, t: clockMs() }) })),
          }),
        32,
      );
      await pool.waitForDeliveries(subscribers * (requests + batches * batchSize));
      const batchCpu = cpuSince(server.pid, cpuStart);
      if (single.failed + batch.failed > 0) throw new Error(`${single.failed + batch.failed} publishes failed`);
      return {
        usPerColdPublish: (totalMs(coldCpu) * 1000) / 2000,
        usPerPublish: (totalMs(singleCpu) * 1000) / requests,
        userUsPerPublish: (singleCpu.userMs * 1000) / requests,
        sleepsPerPublish: singleCpu.sleeps / requests,
        usPerBatch: (totalMs(batchCpu) * 1000) / batches,
        usPerBatchedEvent: (totalMs(batchCpu) * 1000) / (batches * batchSize),
      };
    },
  };
}

/**
 * Joins made, unmeasured, per thread of the server, before B5 measures: each thread compiles
 * its own code, and on a worker thread `--trace-opt` shows TurboFan first compiling Herald's
 * join path past 5,000 joins (bench/RESULTS.md, "B5 warmed up per thread").
 */
const B5_WARM_JOINS = 10_000;

/**
 * B5: a presence join storm: every member subscribes to one presence channel at
 * once. The first storm after start is measured apart, as B4's first publishes: it
 * pays for compiling the code. Then, past unmeasured storms, a small storm is
 * repeated on fresh channels so its CPU time spans enough clock ticks; the time
 * reported is the median storm.
 */
export function presenceStorm(members: number, { repeats = 1, threads = 1, warmJoins = B5_WARM_JOINS }: { repeats?: number; threads?: number; warmJoins?: number } = {}): Scenario {
  const warmStorms = Math.ceil((warmJoins * threads) / members);
  return {
    name: `B5 presence storm ${members}`,
    metrics: [
      { key: "coldSpanMs", label: "ms until all subscription_succeeded, first storm after start", better: "lower" },
      { key: "usPerColdJoin", label: "CPU µs per join, first storm after start", better: "lower" },
      { key: "spanMs", label: "ms until all subscription_succeeded", better: "lower" },
      { key: "usPerJoin", label: "CPU µs per join", better: "lower" },
    ],
    async run(server, pool) {
      await connectAll(server, pool, members);
      await sleep(200);
      let channel = 0;
      const storm = async () => {
        const name = `presence-storm-${channel++}`;
        const { spanMs } = await subscribeAll(pool, () => [name]);
        // Let the last member_added frames drain before the next storm or the CPU reading.
        await sleep(members >= 1000 ? 500 : 50);
        return spanMs;
      };
      const coldStart = cpuTime(server.pid);
      const coldSpanMs = await storm();
      const usPerColdJoin = (totalMs(cpuSince(server.pid, coldStart)) * 1000) / members;
      for (let warm = 0; warm < warmStorms; warm++) await storm();
      const spans: number[] = [];
      const cpuStart = cpuTime(server.pid);
      for (let measured = 0; measured < repeats; measured++) spans.push(await storm());
      spans.sort((a, b) => a - b);
      return { coldSpanMs, usPerColdJoin, spanMs: spans[Math.floor(spans.length / 2)]!, usPerJoin: (totalMs(cpuSince(server.pid, cpuStart)) * 1000) / (members * repeats) };
    },
  };
}

/** S1: a subscribe costs the same in a channel of 10 as in a channel of thousands. */
export function subscribeCost(sockets: number): Scenario {
  // Ten channels per socket give enough subscribes for the 10 ms CPU clock.
  const perSocket = 10;
  return {
    name: `S1 subscribe ×${sockets * perSocket}`,
    metrics: [
      { key: "smallUs", label: "CPU µs per subscribe, channels of 10", better: "lower" },
      { key: "bigUs", label: `CPU µs per subscribe, channels of ${sockets}`, better: "lower" },
      { key: "bigOverSmall", label: "big / small", better: "lower" },
    ],
    async run(server, pool) {
      const measure = async (channelsOf: (socket: number) => string[]) => {
        await connectAll(server, pool, sockets);
        await sleep(200);
        const cpuStart = cpuTime(server.pid);
        await subscribeAll(pool, channelsOf);
        const cpu = cpuSince(server.pid, cpuStart);
        await pool.closeSockets();
        await sleep(300);
        return (totalMs(cpu) * 1000) / (sockets * perSocket);
      };
      const channels = (name: (j: number) => string) => Array.from({ length: perSocket }, (_, j) => name(j));
      // A first, unmeasured round lets either server's code reach its optimised state.
      await measure((socket) => channels((j) => `warm-${j}-${socket % 50}`));
      const smallUs = await measure((socket) => channels((j) => `small-${j}-${Math.floor(socket / 10)}`));
      const bigUs = await measure(() => channels((j) => `big-${j}`));
      return { smallUs, bigUs, bigOverSmall: bigUs / smallUs };
    },
  };
}
