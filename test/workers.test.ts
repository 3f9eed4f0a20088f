/**
 * One process on several cores: --workers 2 puts two worker threads on one port,
 * and the process behaves as one server whichever thread a socket lands on. A thread
 * that dies: worker-restarts.test.ts.
 */
import { writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, nextCall, pusherClient, serverSdk, subscribed } from "./helpers/clients.js";
import { DEMO_APP, runHerald, startHerald, type Herald } from "./helpers/herald.js";
import { freePort } from "./helpers/redis-server.js";
import { nodeOf } from "./helpers/threads.js";
import { tempDir } from "./helpers/temp-dir.js";

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald({ args: ["--workers", "2"] });
});
afterAll(() => herald.stop());

/** A raw subscriber of `channel`, with the socket_id the server gave it. */
async function subscriber(channel: string): Promise<{ client: RawClient; socketId: string }> {
  const client = await RawClient.connect(herald.port);
  const socketId = await client.socketId();
  client.send({ event: "pusher:subscribe", data: { channel } });
  await client.event("pusher_internal:subscription_succeeded");
  return { client, socketId };
}


describe("--workers 2", () => {
  it("spreads connections over both threads, and a publish through either reaches every subscriber once", async () => {
    // Twenty sockets: the kernel hashes each to a thread, so both get some (all on one: 2 in a million).
    const subscribers = await Promise.all(Array.from({ length: 20 }, () => subscriber("w-news")));
    expect(new Set(subscribers.map(({ socketId }) => nodeOf(socketId))).size).toBe(2);
    // Read at once, through one thread: every socket told subscription_succeeded, on either, is counted.
    const countedAtOnce = await serverSdk(herald.port, DEMO_APP).get({ path: "/channels/w-news", params: { info: "subscription_count" } });
    expect(await countedAtOnce.json()).toEqual({ occupied: true, subscription_count: 20 });
    for (let n = 0; n < 4; n++) await serverSdk(herald.port, DEMO_APP).trigger("w-news", "headline", { n });
    // The marker: a fifth event, which each socket gets after the four.
    await serverSdk(herald.port, DEMO_APP).trigger("w-news", "marker", {});
    await Promise.all(subscribers.map(({ client }) => client.event("marker")));
    for (const { client } of subscribers) expect(client.frames.filter((frame) => frame.event === "headline")).toHaveLength(4);
    const counted = await serverSdk(herald.port, DEMO_APP).get({ path: "/channels/w-news", params: { info: "subscription_count" } });
    expect(await counted.json()).toEqual({ occupied: true, subscription_count: 20 });
    for (const { client } of subscribers) client.close();
  });

  it("announces presence members once across threads, and carries client events between them", async () => {
    const members = Array.from({ length: 6 }, (_, n) => pusherClient(herald.port, DEMO_APP, { user: { user_id: `m${n}`, user_info: { n } } }));
    // One at a time, so the last to join sees all six, wherever the others are.
    let last: { count: number } | undefined;
    for (const member of members) last = (await subscribed(member, "presence-w-room")) as { count: number };
    expect(last!.count).toBe(6);
    const whispered = members.slice(1).map(() => nextCall<unknown>());
    members.slice(1).forEach((member, index) => member.channel("presence-w-room").bind("client-hi", whispered[index]!.callback));
    members[0]!.channel("presence-w-room").trigger("client-hi", { from: "m0" });
    expect(await Promise.all(whispered.map((call) => call.promise))).toEqual(members.slice(1).map(() => ({ from: "m0" })));
    const users = await serverSdk(herald.port, DEMO_APP).get({ path: "/channels/presence-w-room/users" });
    expect(((await users.json()) as { users: unknown[] }).users).toHaveLength(6);
    for (const member of members) member.disconnect();
  });

  it("answers /metrics for the whole process, summed over its threads, heaps too", async () => {
    const [metricsPort, oneThreadMetricsPort] = [await freePort(), await freePort()];
    const [server, oneThread] = await Promise.all([
      startHerald({ args: ["--workers", "2", "--metrics-port", String(metricsPort)] }),
      startHerald({ args: ["--workers", "1", "--metrics-port", String(oneThreadMetricsPort)] }),
    ]);
    const clients = await Promise.all(Array.from({ length: 20 }, () => RawClient.subscribed(server.port, "w-metrics")));
    const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const [text, oneThreadText] = await Promise.all([scrape(metricsPort), scrape(oneThreadMetricsPort)]);
    expect(text).toMatch(/^herald_connections\{app="app-id"\} 20$/m);
    expect(text).toMatch(/^herald_connections_opened_total\{app="app-id"\} 20$/m);
    // Three V8 heaps (two workers running what one thread runs, and the main thread's hub): the first worker's alone would be about one thread's.
    const heapUsed = (text: string) => Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1]);
    expect(heapUsed(text)).toBeGreaterThan(1.5 * heapUsed(oneThreadText));
    // Each metric once, in one group, as Prometheus requires.
    const described = text.split("\n").filter((line) => line.startsWith("# TYPE "));
    expect(new Set(described).size).toBe(described.length);
    expect(text.match(/^nodejs_version_info/gm)).toHaveLength(1);
    for (const client of clients) client.close();
    await Promise.all([server.stop(), oneThread.stop()]);
  });

  it("shows the whole process's API requests in the console's live stats", async () => {
    const metricsPort = await freePort();
    const env = { HERALD_TEST_TIMINGS: JSON.stringify({ statsIntervalMs: 200 }) };
    const server = await startHerald({ args: ["--workers", "2", "--metrics-port", String(metricsPort)], env });
    const stats = async () =>
      (await (await fetch(`http://127.0.0.1:${metricsPort}/console/api/apps/${DEMO_APP.id}/stats`)).json()) as { node: string; samples: Array<{ time: number; apiRequestsPerSecond: number }> };
    const samples = async () => (await stats()).samples;
    // Named for the process, not for the thread that serves the console.
    expect((await stats()).node).toMatch(/^\d+, 2 threads$/);
    // A first sample before any request: every request then falls in a sample whose interval is known.
    await expect.poll(async () => (await samples()).length).toBeGreaterThan(0);
    // Each on a new TCP connection, so over both threads (all 20 on one: 2 in a million).
    const sdk = serverSdk(server.port, DEMO_APP, { agent: new Agent({ keepAlive: false }) });
    for (let n = 0; n < 20; n++) await sdk.trigger("w-stats", "e", String(n));
    // Each sample's rate over the time since the one before (samples are not evenly spaced on a busy machine), added up.
    const requestsCharted = async () =>
      Math.round((await samples()).reduce((sum, sample, index, all) => (index === 0 ? 0 : sum + (sample.apiRequestsPerSecond * (sample.time - all[index - 1]!.time)) / 1000), 0));
    await expect.poll(requestsCharted, { timeout: 5000 }).toBe(20);
    await server.stop();
  });

  it("counts --max-connections and an app's limits over the whole process, at once", { timeout: 15_000 }, async () => {
    const limited = { ...DEMO_APP, maxConnections: 6, maxBackendEventsPerSecond: 10 };
    const server = await startHerald({ apps: [limited], args: ["--workers", "2", "--max-connections", "10"] });
    const answer = async () => {
      const client = await RawClient.connect(server.port);
      const frame = await client.next((frame) => frame.event === "pusher:connection_established" || frame.event === "pusher:error");
      if (frame.event === "pusher:error") return { client, socketId: undefined, code: await client.closed() };
      return { client, socketId: (JSON.parse(frame.data as string) as { socket_id: string }).socket_id, code: undefined };
    };
    // One at a time, so each lands after the last is counted: exactly six, over both threads (as the kernel spreads them).
    const answers = [];
    for (let n = 0; n < 8; n++) answers.push(await answer());
    expect(answers.map(({ code }) => code)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, 4004, 4004]);
    // 24 events, each on a new TCP connection (so over both threads): within one second, 10 pass.
    const sdk = serverSdk(server.port, limited, { agent: new Agent({ keepAlive: false }) });
    const burst = async () => {
      // From the start of a second nobody has taken from yet.
      await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000)));
      const second = Math.floor(Date.now() / 1000);
      const statuses = [];
      for (let n = 0; n < 24; n++) statuses.push(await sdk.trigger("w-limits", "e", String(n)).then(() => 200, (error: { status: number }) => error.status));
      // A burst that crossed a second's end had two allowances: it is tried again.
      return Math.floor(Date.now() / 1000) === second ? statuses.filter((status) => status === 200).length : undefined;
    };
    await expect.poll(burst, { timeout: 8000, interval: 0 }).toBe(10);
    for (const { client } of answers) client.close();
    await server.stop();
  });

  it("refuses a second Herald on the same port", async () => {
    const second = await runHerald(["--host", "0.0.0.0", "--port", String(herald.port), "--workers", "2"]);
    expect(second.code).toBe(1);
    expect(second.output).toContain(`Cannot listen on 0.0.0.0:${herald.port}: another Herald holds it`);
    const single = await runHerald(["--host", "0.0.0.0", "--port", String(herald.port)]);
    expect(single.code).toBe(1);
  });

  it("stops on SIGTERM: sockets on every thread closed with 4200, idle keep-alive HTTP connections closed, then exit 0", async () => {
    const metricsPort = await freePort();
    const server = await startHerald({ args: ["--workers", "2", "--metrics-port", String(metricsPort)] });
    const clients = await Promise.all(Array.from({ length: 10 }, () => RawClient.subscribed(server.port, "w-stop")));
    // As an SDK's keep-alive agent and a Prometheus scraper leave them: answered, then idle.
    // Nothing else closes them, and a thread waits for them (a 10 s grace spent, exit 1).
    const idle = await Promise.all([...Array.from({ length: 12 }, () => idleKeepAlive(server.port, "/health")), idleKeepAlive(metricsPort, "/metrics")]);
    const exited = new Promise<number | null>((resolve) => server.process.once("exit", resolve));
    server.process.kill("SIGTERM");
    expect(await Promise.all(clients.map((client) => client.closed(5000)))).toEqual(clients.map(() => 4200));
    await Promise.all(idle.map(({ closed }) => closed));
    expect(await exited).toBe(0);
  });
});

describe("an error nothing caught on the main thread", () => {
  // A real one: a module loaded before Herald throws from a signal handler of the main thread.
  const thrower = join(tempDir("throw"), "throw-on-usr2.mjs");
  writeFileSync(thrower, 'import { isMainThread } from "node:worker_threads";\nif (isMainThread) process.on("SIGUSR2", () => { throw new Error("planted failure"); });\n');

  it.each([["1"], ["2"]])("ends the process with exit code 1 and a fatal log line, on %s thread(s), never an abort", async (workers) => {
    const server = await startHerald({ args: ["--workers", workers], env: { NODE_OPTIONS: `--import=${thrower}` } });
    const client = await RawClient.connect(server.port);
    await client.socketId();
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => server.process.once("exit", (code, signal) => resolve([code, signal])));
    server.process.kill("SIGUSR2");
    // Not SIGABRT: Node aborts if the process exits while a worker thread still holds its uWS app.
    expect(await exited).toEqual([1, null]);
    expect(server.logs.find((line) => line.level === 60)).toMatchObject({ msg: "uncaught error: Herald stops", err: { message: "planted failure" } });
    expect(await client.closed()).toBeGreaterThan(0);
  });
});

/** A keep-alive HTTP connection that had one answer and stays idle, and when the server closes it. */
async function idleKeepAlive(port: number, path: string): Promise<{ closed: Promise<void> }> {
  const socket = connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  await new Promise((resolve) => socket.once("data", resolve));
  socket.on("error", () => {});
  return { closed: new Promise((resolve) => socket.once("close", () => resolve())) };
}
