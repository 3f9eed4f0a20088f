/**
 * Bad input, at random: for `--seconds`, a seeded stream of malformed and half-valid
 * input at a Herald this starts: WebSocket frames (some subscriptions and sign-ins
 * signed right, most things wrong: types, sizes, names, JSON), HTTP API calls signed
 * right with bodies and queries wrong, the HTTP fallback's requests (stray ones, and
 * sessions kept on one node, polled and sent such frames), and the ops port's console
 * feed and routes; the app keeps what is published to its vacant private and presence
 * channels, so claims and hand-overs run too. It prints what came back (and what each
 * node kept and handed over), and exits 1 if Herald logged an
 * error, a worker thread had to be started again, Herald stopped answering, or, once the
 * input stopped, it still held a channel or a connection, or the app's occupancy and
 * member webhooks did not balance (each arrival with its departure). It is how the console feed's
 * crash on a `null` message and the body sent after a HEAD answer were found; the
 * fuzzers' other findings are in bench/RESULTS.md ("Bad input"). The nodes run the test
 * suite's short cluster timings (test/helpers/fast-timings.ts), so that the last check
 * does not wait out production's holds.
 *
 * With `--redis` it starts a redis-server and two nodes on it, and spreads the input over
 * both. With `--chaos`, every few seconds: with `--redis`, Redis goes away for up to 2 s
 * (and comes back with its data or, at random, without, as one that lost its disk),
 * or a node is killed (SIGKILL) or stopped (SIGTERM, which must end with 0; sometimes while
 * Redis is away) and another started in its place; with `--redis-cluster` (two nodes on a
 * Redis Cluster of three shards, not persisted) one shard restarts empty, or a node is
 * killed or stopped; with `--workers` 2 or more, a worker thread throws; `--blows` picks
 * some of those (outage, kill, stop, stop in outage, shard, thread).
 * The nodes may log that Redis is unreachable and that the thread asked to fail was
 * started again, and nothing else, and must end up holding nothing of the dead nodes' and
 * threads' sockets. `--logs DIR` writes each node's log lines to `DIR/node N.log`, each with
 * the run's time before it, to read against an unbalanced webhook's trail.
 *
 *   npm run fuzz [-- --seconds 20] [--seed 1] [--workers 2] [--redis | --redis-cluster] [--chaos [--blows outage,stop]] [--logs DIR]
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { channelAuthString, hmacSha256Hex, md5Hex, userAuthString } from "../src/protocol/signatures.js";
import { FAST_TIMINGS } from "../test/helpers/fast-timings.js";
import { freePort, startRedis } from "../test/helpers/redis-server.js";
import { startRedisCluster } from "../test/helpers/redis.js";
import { removeTempDirs } from "../test/helpers/temp-dir.js";
import { keepAliveAgent } from "./lib/publisher.js";
import { endsWithUs } from "./lib/servers.js";

const USAGE = "usage: npm run fuzz [-- --seconds 20] [--seed 1] [--workers 2] [--redis | --redis-cluster] [--chaos [--blows outage,stop]] [--logs DIR] (what each does: the top of bench/fuzz.ts)";
const { values } = (() => {
  try {
    return parseArgs({
      options: { seconds: { type: "string", default: "20" }, seed: { type: "string", default: "1" }, workers: { type: "string", default: "1" }, redis: { type: "boolean", default: false }, "redis-cluster": { type: "boolean", default: false }, chaos: { type: "boolean", default: false }, blows: { type: "string" }, logs: { type: "string" }, help: { type: "boolean", default: false } },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
/**
 * What --chaos may do: to a cluster on Redis (--redis), take Redis away and kill or stop nodes; on a Redis
 * Cluster (--redis-cluster), restart a shard empty and kill or stop nodes; to worker threads, make one throw.
 * `--blows` picks some.
 */
const BLOWS = (
  values.chaos
    ? [
        ...(values.redis ? (["outage", "kill", "stop", "stop in outage"] as const) : []),
        ...(values["redis-cluster"] ? (["shard", "kill", "stop"] as const) : []),
        ...(Number(values.workers) > 1 ? (["thread"] as const) : []),
      ]
    : []
).filter((blow) => values.blows === undefined || values.blows.split(",").includes(blow));
if ((values.chaos && BLOWS.length === 0) || (values.redis && values["redis-cluster"])) {
  console.error(
    "--chaos needs --redis (Redis taken away, nodes killed), --redis-cluster (a shard restarted, nodes killed) or --workers 2 or more (threads made to fail), and --blows, if given, some of those: outage, kill, stop, stop in outage, shard, thread. --redis and --redis-cluster do not go together.",
  );
  process.exit(2);
}
/** Private and presence channels keep what is published while nobody is in them, so claims and hand-overs meet the chaos too. */
const APP = {
  id: "fuzz",
  key: "fuzz-key",
  secret: "fuzz-secret",
  enableClientMessages: true,
  vacantChannelBuffers: [
    { channelPrefix: "private-", ttlSeconds: 60, maxEvents: 3 },
    { channelPrefix: "presence-", ttlSeconds: 60, maxEvents: 3 },
  ],
};

// A seeded generator (an LCG), so a run's input can be had again; the timing differs.
let state = Number(values.seed);
const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;

const WEIRD = ["", " ", "\u0000", "\ud800", "😀", "%zz", "..", "#", ":", "\\", '"', "null", "0", "-1", "1e999", "__proto__", "constructor", "x".repeat(300), "x".repeat(70_000)];
/** Any JSON value, nested up to a depth, and sometimes a deep one. */
function anyValue(depth = 0): unknown {
  switch (int(depth > 3 ? 6 : 10)) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return pick([0, -1, 1.5, 1e308, 2 ** 53 + 1]);
    case 3: return pick(WEIRD);
    case 4: return `s${int(100)}`;
    case 5: return undefined;
    case 6: return Array.from({ length: int(4) }, () => anyValue(depth + 1));
    case 7: return Object.fromEntries(Array.from({ length: int(4) }, () => [pick(["id", "user_id", "user_info", "watchlist", "channel", "name", "data", ...WEIRD]), anyValue(depth + 1)]));
    case 8: return JSON.parse("[".repeat(200) + "]".repeat(200)) as unknown;
    default: return JSON.stringify(anyValue(depth + 1)) ?? "";
  }
}
const encode = (text: string) => {
  try {
    return encodeURIComponent(text);
  } catch {
    return "%ED%A0%80"; // a lone surrogate, as bytes
  }
};
const PREFIXES = ["", "private-", "presence-", "private-encrypted-", "private-cache-", "presence-cache-", "cache-", "#server-to-user-"];
const channel = (): string => pick(PREFIXES) + pick(["a", "b", ...WEIRD.slice(0, 12), "x".repeat(int(260))]);
const sign = (text: string) => `${APP.key}:${hmacSha256Hex(APP.secret, text)}`;

function frame(socketId: string): string {
  const name = pick(["pusher:subscribe", "pusher:subscribe", "pusher:unsubscribe", "pusher:signin", "pusher:ping", "client-x", "pusher:dance", "pusher_internal:subscription_succeeded", ...WEIRD.slice(0, 4)]);
  const to = channel();
  let data = anyValue();
  if (name === "pusher:subscribe") {
    const channelData = pick([undefined, JSON.stringify({ user_id: pick(["u1", "u2", 7, "", null]), user_info: anyValue() }), anyValue()]);
    const auth = int(3) > 0 ? sign(channelAuthString(socketId, to, typeof channelData === "string" ? channelData : undefined)) : anyValue();
    data = pick([{ channel: to, auth, channel_data: channelData }, { channel: to }, anyValue()]);
  } else if (name === "pusher:signin") {
    const userData = pick([JSON.stringify({ id: pick(["u1", "u2", 5, ""]), user_info: anyValue(), watchlist: pick([undefined, ["u1"], anyValue()]) }), anyValue()]);
    data = { user_data: userData, auth: typeof userData === "string" ? sign(userAuthString(socketId, userData)) : anyValue() };
  }
  const text = JSON.stringify({ event: name, channel: pick([to, undefined, anyValue()]), data });
  return pick([text, text, text, text.slice(0, int(60)), pick(WEIRD)]);
}

const seen = new Map<string, number>();
const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);

/** One socket: connects (mostly as the app), sends a few bursts, leaves by close or drop. */
function socketLife(port: number): Promise<void> {
  return new Promise((done) => {
    const key = int(10) > 0 ? APP.key : encode(pick(WEIRD).slice(0, 100));
    const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${key}?protocol=${int(10) > 0 ? 7 : pick([5, "x"])}&client=js&version=8.4.0`);
    const frames = 5 + int(40);
    let sent = 0;
    ws.on("message", (data) => {
      const text = String(data);
      if (!text.includes("pusher:connection_established")) return;
      const socketId = (JSON.parse((JSON.parse(text) as { data: string }).data) as { socket_id: string }).socket_id;
      const burst = (): void => {
        for (let i = 0; i < 5 && sent < frames && ws.readyState === WebSocket.OPEN; i++, sent++) ws.send(int(40) === 0 ? Buffer.from([1, 2, 3]) : frame(socketId));
        if (sent < frames && ws.readyState === WebSocket.OPEN) setTimeout(burst, int(3));
        else if (int(2) === 0) ws.close();
        else ws.terminate();
      };
      burst();
    });
    ws.on("close", (code) => {
      count(`WebSocket closed ${code}`);
      done();
    });
    ws.on("error", () => undefined);
  });
}

const agent = keepAliveAgent();
function request(port: number, method: string, path: string, body?: string): Promise<void> {
  return new Promise((done) => {
    let finished = false;
    const finish = (what: string) => {
      if (finished) return;
      finished = true;
      count(what);
      done();
    };
    let sent: http.ClientRequest;
    try {
      sent = http.request({ host: "127.0.0.1", port, method, path, agent, timeout: 8000, headers: { "content-type": "application/json" } }, (response) => {
        response.resume();
        // "close", not "end": a stream cut at the timeout below ends without an "end".
        response.on("close", () => finish(`HTTP ${response.statusCode}`));
      });
    } catch {
      return finish("HTTP request not sendable");
    }
    // A held poll of the HTTP fallback, or a dropped connection: the client's end, not the server's.
    sent.on("timeout", () => sent.destroy());
    sent.on("error", () => finish("HTTP connection ended without an answer"));
    sent.end(body);
  });
}

/** A signed API path, as the SDKs sign it, with parameters that may be wrong (unless `right`). */
function signedPath(method: string, path: string, body: string, right = false): string {
  const query: Record<string, string> = { auth_key: APP.key, auth_timestamp: String(Math.floor(Date.now() / 1000)), auth_version: "1.0" };
  if (body) query.body_md5 = md5Hex(body);
  if (!right && int(3) === 0) Object.assign(query, { info: pick(["user_count", "subscription_count,user_count", String(anyValue())]), filter_by_prefix: pick(["presence-", String(anyValue())]) });
  const keys = Object.keys(query).sort();
  const signed = keys.map((key) => `${key}=${query[key]}`).join("&");
  return `${path}?${keys.map((key) => `${key}=${encode(query[key]!)}`).join("&")}&auth_signature=${hmacSha256Hex(APP.secret, `${method}\n${path}\n${signed}`)}`;
}

function apiCall(port: number): Promise<void> {
  const to = encode(channel());
  const roll = int(10);
  if (roll < 5) {
    const event = () => pick([{ name: pick(["e", ...WEIRD]), channels: pick([[channel()], anyValue(), Array.from({ length: 120 }, (_, i) => `c${i}`)]), data: pick([JSON.stringify(anyValue()), anyValue(), "y".repeat(int(20_000))]), socket_id: pick([undefined, "1.2", anyValue()]), info: pick([undefined, "subscription_count", anyValue()]) }, anyValue()]);
    const path = pick([`/apps/${APP.id}/events`, `/apps/${APP.id}/batch_events`]);
    const body = JSON.stringify(path.endsWith("batch_events") ? pick([{ batch: Array.from({ length: int(12) }, event) }, anyValue()]) : event()) ?? "x";
    return request(port, "POST", signedPath("POST", path, body), body);
  }
  if (roll < 8) {
    const path = pick([`/apps/${APP.id}/channels`, `/apps/${APP.id}/channels/${to}`, `/apps/${APP.id}/channels/${to}/users`, `/apps/${APP.id}/users/${encode(String(anyValue()))}/terminate_connections`, `/apps/${APP.id}/nope`]);
    const method = path.endsWith("terminate_connections") ? "POST" : "GET";
    const body = method === "POST" ? "{}" : "";
    return request(port, method, signedPath(method, path, body), body || undefined);
  }
  const method = pick(["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"]);
  const path = pick(["/", "/apps", `/apps/${APP.id}/events?auth_key=${APP.key}`, `/app/${APP.key}`, `/apps/${encode(pick(WEIRD).slice(0, 50))}/events`, "/%", "/health", "/ready"]);
  return request(port, method, path, method === "GET" || method === "HEAD" ? undefined : String(anyValue()).slice(0, 1000));
}

function fallbackCall(port: number): Promise<void> {
  const session = `/pusher/app/${pick([APP.key, APP.key, "nope"])}/${int(1000)}/${pick(["abcdefgh", "12345678", encode(pick(WEIRD).slice(0, 20))])}`;
  const route = pick(["xhr_send", "xhr_send", "xhr", "xhr_streaming", encode(pick(WEIRD).slice(0, 10))]);
  const body = route === "xhr_send" ? pick([JSON.stringify([frame("1.1"), frame("1.1")]), JSON.stringify(anyValue()) ?? "", "[", "[]"]) : undefined;
  return request(port, "POST", `${session}/${route}?t=${Date.now()}&n=${int(9)}`, body);
}

/**
 * A session of the HTTP fallback, as pusher-js's polling transport lives one: polls on one
 * node until connection_established, sends bursts of frames (signed with its socket id)
 * between polls, each poll given up at random as a page does, then abandoned to expire.
 */
async function sessionLife(port: number): Promise<void> {
  const base = `/pusher/app/${APP.key}/${int(1000)}/${Array.from({ length: 8 }, () => "0123456789abcdefghijklmnopqrstuv"[int(32)]).join("")}`;
  let n = 0;
  const query = () => `?protocol=7&client=js&version=8.4.0&t=${Date.now()}&n=${n++}`;
  let socketId: string | undefined;
  for (let poll = 0; poll < 3 && socketId === undefined; poll++) {
    const body = await answer(port, `${base}/xhr${query()}`, undefined, 1000);
    if (body === undefined) return;
    socketId = /socket_id\\+":\\+"([0-9.]+)/.exec(body)?.[1];
  }
  if (socketId === undefined) {
    count("HTTP fallback session without connection_established");
    return;
  }
  count("HTTP fallback session established");
  for (let round = 1 + int(4); round > 0; round--) {
    const frames = Array.from({ length: 1 + int(4) }, () => frame(socketId));
    await answer(port, `${base}/xhr_send${query()}`, JSON.stringify(frames), 1000);
    await answer(port, `${base}/xhr${query()}`, undefined, int(300));
  }
}

/** POSTs to `path` and resolves with the body, or undefined if no answer came within `ms` (then the request is given up). */
function answer(port: number, path: string, body: string | undefined, ms: number): Promise<string | undefined> {
  return new Promise((done) => {
    const sent = http.request({ host: "127.0.0.1", port, method: "POST", path, agent, headers: { "content-type": "application/json" } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += String(chunk)));
      response.on("end", () => {
        clearTimeout(timer);
        count(`HTTP fallback session answered ${response.statusCode}`);
        done(text);
      });
    });
    const timer = setTimeout(() => {
      sent.destroy();
      done(undefined);
    }, ms);
    sent.on("error", () => {
      clearTimeout(timer);
      done(undefined);
    });
    sent.end(body);
  });
}

/** The console's feed: a few messages, then a close or a drop. */
function feedLife(opsPort: number): Promise<void> {
  return new Promise((done) => {
    const ws = new WebSocket(`ws://127.0.0.1:${opsPort}/console/api/feed`);
    ws.on("open", () => {
      for (let i = 1 + int(5); i > 0; i--) {
        ws.send(int(5) === 0 ? pick(["null", "[]", "{", "5", '"x"', ""]) : JSON.stringify({ token: anyValue(), app: pick([APP.id, anyValue()]), paused: anyValue() }));
      }
      setTimeout(() => (int(2) === 0 ? ws.close() : ws.terminate()), int(30));
    });
    ws.on("close", (code) => {
      count(`console feed closed ${code}`);
      done();
    });
    ws.on("error", () => undefined);
  });
}

function opsCall(opsPort: number): Promise<void> {
  const app = pick([APP.id, encode(String(anyValue()))]);
  const path = pick(["/", "/metrics", "/console/api/apps", `/console/api/apps/${app}/channels`, `/console/api/apps/${app}/stats`, `/console/api/apps/${app}/events`, "/nope"]);
  const method = path.endsWith("/events") ? "POST" : pick(["GET", "GET", "POST", "HEAD"]);
  return request(opsPort, method, path, method === "POST" ? pick([JSON.stringify({ name: "e", channels: ["a"], data: "{}" }), String(anyValue())]) : undefined);
}

async function repeat(until: number, work: () => Promise<void>): Promise<void> {
  while (Date.now() < until) await work();
}

interface Node {
  /** "node N", as its webhooks and the trails name it. */
  readonly name: string;
  readonly port: number;
  readonly opsPort: number;
  /** Kills it on purpose (SIGKILL), which is then no problem. */
  kill(): Promise<void>;
  /** Stops it as an operator does (SIGTERM): what it says if it does not end with 0 within `--shutdown-grace`. */
  stop(): Promise<string | undefined>;
  /** Makes its last worker thread throw (the test-only HERALD_TEST_WORKER_CRASH), which then starts again. */
  crashThread(): void;
  /** How many times crashThread was called: the restarts that are no problem. */
  readonly crashes: number;
}

interface LogEntry {
  level: number;
  msg: string;
  port?: number;
  /** On the start line of a node of a Redis cluster: its number there. */
  node?: number;
  why?: string;
  err?: { message?: string };
}

const problems: string[] = [];
/** Resolves with what ended a node, when one ends that was not killed on purpose. */
let nodeEnded: (what: string) => void = () => undefined;
const anyNodeEnded = new Promise<string>((resolveEnded) => (nodeEnded = resolveEnded));

let nodesStarted = 0;

/** Herald as a user starts it, with the ops port on; its error lines, but those `expected`, go to `problems`. Its webhooks name it (`?node=N`), for the trails. */
async function startNode(args: string[], expected: (entry: LogEntry) => boolean): Promise<Node> {
  const name = `node ${++nodesStarted}`;
  const apps = join(appsDir, `apps-${nodesStarted}.json`);
  writeFileSync(apps, JSON.stringify({ apps: [{ ...APP, webhooks: [{ url: `${receiver.url}?node=${nodesStarted}`, event_types: ["channel_occupied", "channel_vacated", "member_added", "member_removed"] }] }] }));
  // Never a port of this run's Redis, which the chaos takes away for a while (freePort passes over them).
  const opsPort = await freePort();
  const root = resolve(import.meta.dirname, "../..");
  // A node taken for dead after 3 s of silence, not 1.5: two nodes of two threads and the fuzzer share this machine's cores.
  const env = { ...process.env, HERALD_TEST_TIMINGS: JSON.stringify({ ...FAST_TIMINGS, deadAfterMs: 3000, sessionExpiryMs: 1000 }), ...(values.chaos ? { HERALD_TEST_WORKER_CRASH: String(Number(values.workers) - 1) } : {}) };
  const child = spawn(process.execPath, [join(root, "dist/main.js"), "--host", "127.0.0.1", "--port", "0", "--metrics-port", String(opsPort), "--apps", apps, ...args], { stdio: ["ignore", "pipe", "inherit"], env });
  endsWithUs(child);
  let killed = false;
  let port: number | undefined;
  /** Its last warnings, for a stop that does not end with exit code 0. */
  const warnings: string[] = [];
  // Written as they come (sync): a run that ends with process.exit keeps its last lines.
  const kept = values.logs === undefined ? undefined : openSync(join(values.logs, `${name}.log`), "w");
  port = await new Promise<number>((resolvePort, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (kept !== undefined) writeSync(kept, `${elapsed()} ${line}\n`);
      const entry = JSON.parse(line) as LogEntry;
      if (entry.level === 40 && warnings.push(`${elapsed()} ${entry.msg.slice(0, 80)}`) > 5) warnings.shift();
      if (typeof entry.port === "number") {
        resolvePort(entry.port);
        if (entry.node !== undefined) blown.push(`${elapsed()} ${name} (${entry.port}) is Redis node ${entry.node}`);
      }
      // What the node says of Redis and of other nodes, into the chaos's trail.
      if (entry.level >= 30 && /Redis|node /.test(entry.msg)) blown.push(`${elapsed()} ${name} (${port ?? "starting"}) says: ${entry.msg.slice(0, 60)}`);
      if (entry.level < 50) return;
      if (expected(entry)) count(`logged, as the chaos makes it: ${entry.msg.slice(0, 40)}`);
      else problems.push(line);
    });
    child.once("exit", (code, signal) => reject(new Error(`Herald exited with ${signal ?? code} before it listened`)));
  });
  child.once("exit", (code, signal) => killed || nodeEnded(`Herald on ${port} exited (${signal ?? code}) during the run`));
  const kill = () =>
    new Promise<void>((done) => {
      killed = true;
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once("exit", () => done());
      child.kill("SIGKILL");
    });
  let crashes = 0;
  const crashThread = () => {
    crashes += 1;
    child.kill("SIGUSR2");
  };
  const stop = () =>
    new Promise<string | undefined>((done) => {
      killed = true;
      child.once("exit", (code, signal) => done(code === 0 ? undefined : `Herald on ${port} stopped with ${signal ?? code}, not 0, on SIGTERM; its last warnings: ${warnings.join("; ")}`));
      child.kill("SIGTERM");
    });
  return {
    name,
    port,
    opsPort,
    kill,
    stop,
    crashThread,
    get crashes() {
      return crashes;
    },
  };
}

/** What is wrong with a node that lived through the run: not answering, or threads started again. */
async function afterTheRun(node: Node): Promise<string[]> {
  const health = await fetch(`http://127.0.0.1:${node.port}/health`).then((response) => response.status, () => 0);
  const metrics = await fetch(`http://127.0.0.1:${node.opsPort}/metrics`).then((response) => response.text());
  const restarts = [...metrics.matchAll(/^herald_worker_restarts_total\{[^}]*\} (\d+)/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
  // What the vacant-channel buffers saw, among the counts printed.
  for (const name of ["herald_buffered_events_total", "herald_buffer_handovers_total"]) {
    const total = Number(new RegExp(`^${name}\\{app="${APP.id}"\\} (\\d+)`, "m").exec(metrics)?.[1] ?? 0);
    seen.set(`${name} (node on ${node.port})`, total);
  }
  return [
    ...(health === 200 ? [] : [`/health on ${node.port} answered ${health} after the run`]),
    ...(restarts > node.crashes ? [`${restarts} worker thread(s) started again on ${node.port}, ${node.crashes} of them asked to fail`] : []),
  ];
}

/** What a node still holds once every socket of the run has gone: its occupied channels (as the HTTP API lists them) and its connections (/health). */
async function heldBy(node: Node): Promise<string> {
  const path = `/apps/${APP.id}/channels`;
  const answered = await fetch(`http://127.0.0.1:${node.port}${signedPath("GET", path, "", true)}`);
  // A node still writing its share back to a Redis that lost its data answers 503 meanwhile.
  if (answered.status !== 200) return `Herald on ${node.port} answered ${answered.status} to ${path} after the run: ${await answered.text()}`;
  const listed = (await answered.json()) as { channels: Record<string, unknown> };
  const { connections } = (await (await fetch(`http://127.0.0.1:${node.port}/health`)).json()) as { connections: number };
  const channels = Object.keys(listed.channels);
  return channels.length === 0 && connections === 0 ? "" : `Herald on ${node.port} still holds ${connections} connection(s) and channels ${JSON.stringify(channels.slice(0, 10))} after the run`;
}

const started = Date.now();
/** Seconds since the fuzzer started, as the trails below say it. */
const elapsed = (at = Date.now()) => `${((at - started) / 1000).toFixed(2)} s`;
/** What the chaos did and when, to read an unbalanced webhook's trail against. */
const blown: string[] = [];

const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** Where the app's occupancy and member webhooks go: each transition, counted by channel (and user). */
async function webhookReceiver(): Promise<{ url: string; unbalanced: () => string[]; close: () => void }> {
  const arrivals = new Map<string, number>();
  /** Each key's webhooks, in the order they came, for the trail of one that does not balance. */
  const heard = new Map<string, string[]>();
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += String(chunk)));
    request.on("end", () => {
      const { time_ms, events } = JSON.parse(body) as { time_ms: number; events: Array<{ name: string; channel: string; user_id?: string }> };
      const sender = new URL(request.url!, "http://x").searchParams.get("node");
      for (const { name, channel, user_id } of events) {
        count(`webhook ${name}`);
        const key = JSON.stringify(name.startsWith("member") ? [channel, user_id] : [channel]);
        arrivals.set(key, (arrivals.get(key) ?? 0) + (name === "channel_occupied" || name === "member_added" ? 1 : -1));
        heard.set(key, [...(heard.get(key) ?? []), `${elapsed(time_ms)} ${name} by node ${sender}`]);
      }
      response.end();
    });
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    // Once everyone left, each channel (and member) came and went as often.
    unbalanced: () => [...arrivals].filter(([, balance]) => balance !== 0).map(([key, balance]) => `${key}: ${balance > 0 ? "arrived" : "left"} ${Math.abs(balance)} more time(s) than it ${balance > 0 ? "left" : "arrived"} (${heard.get(key)!.join(", ")})`),
    close: () => server.close(),
  };
}

/** Holds until the webhooks balance, or says which do not after `ms`. */
async function webhooksUnbalanced(receiver: { unbalanced: () => string[] }, ms: number): Promise<string[]> {
  const until = Date.now() + ms;
  while (receiver.unbalanced().length > 0 && Date.now() < until) await sleep(250);
  return receiver.unbalanced().map((what) => `webhooks: ${what}`);
}

/** Holds until every node holds nothing, or says what is left after `ms` (time for the departure hold, a dead node to be taken for dead, and a session to expire). */
async function leftBehind(nodes: Node[], ms: number): Promise<string[]> {
  const until = Date.now() + ms;
  for (;;) {
    const held = (await Promise.all(nodes.map(heldBy))).filter(Boolean);
    if (held.length === 0 || Date.now() > until) return held;
    await sleep(250);
  }
}

/** Which nodes Redis says still count each channel a node listed after the run (a node's number → its subscribers), and which nodes are live. */
function countsInRedis(left: string[]): string[] {
  const port = redis ? new URL(redis.url).port : redisCluster?.nodes.split(",")[0]!.split(":")[1];
  if (port === undefined) return [];
  const cli = (...args: string[]) => execFileSync("redis-cli", ["-c", "-p", port, ...args]).toString().trim().split("\n").join(" ");
  const channels = new Set(left.flatMap((line) => (JSON.parse(line.match(/channels (\[.*\]) after/)?.[1] ?? "[]") as string[])));
  return [...[...channels].map((channel) => `Redis counts ${channel} for nodes (node, subscribers): ${cli("hgetall", `herald:{${APP.id}}:subs:${channel}`)}`), `live nodes in Redis: ${cli("zrange", "herald:nodes", "0", "-1")}`];
}

const appsDir = mkdtempSync(join(tmpdir(), "herald-fuzz-"));
const receiver = await webhookReceiver();
// Persisted (appendonly), so that an outage can keep Redis's data, as most do.
const redis = values.redis ? await startRedis({ persist: true }) : undefined;
const redisCluster = values["redis-cluster"] ? await startRedisCluster() : undefined;
// As its nodes (endsWithUs), the redis-servers and the apps file end with this process, whatever ends it.
process.on("exit", () => {
  void redis?.kill();
  redisCluster?.stop();
  removeTempDirs();
  rmSync(appsDir, { recursive: true, force: true });
});
const args = ["--workers", values.workers!, ...(redis ? ["--redis", redis.url] : []), ...(redisCluster ? ["--redis-cluster", redisCluster.nodes] : [])];
// A Redis taken away on purpose is said at error level (redis-broker.ts), and so is a thread asked to fail; nothing else is expected.
const ASKED = "a crash asked for by a test";
const expected = ({ msg, why, err }: LogEntry) => values.chaos === true && (/^Redis at .* is unreachable/.test(msg) || why === ASKED || err?.message === ASKED);
const nodes = await Promise.all((redis || redisCluster ? [0, 1] : [0]).map(() => startNode(args, expected)));
/** Each call goes to the nodes in turn: on Redis, what one node does the other hears of. */
let turn = 0;
const next = () => nodes[turn++ % nodes.length]!;

/** Redis back after an outage, with its data or, at random, without. */
async function comeBack(): Promise<void> {
  const empty = int(2) === 0;
  await redis!.start({ empty });
  count(`chaos: Redis back ${empty ? "empty" : "with its data"}`);
  blown.push(`${elapsed()} Redis back ${empty ? "empty" : "with its data"}`);
}

/** One blow of --chaos, after a pause: Redis away for up to 2 s, a node killed or stopped (Redis there or not) and another started in its place, or a worker thread failing. */
async function chaos(until: number): Promise<void> {
  await sleep(1000 + int(2000));
  if (Date.now() >= until) return;
  const blow = pick(BLOWS);
  if (blow === "thread") {
    count("chaos: a worker thread made to throw");
    const node = nodes[int(nodes.length)]!;
    blown.push(`${elapsed()} a thread of ${node.name} made to throw`);
    node.crashThread();
  } else if (blow === "shard") {
    const shard = int(3);
    count("chaos: a Redis Cluster shard restarted empty");
    blown.push(`${elapsed()} restarting shard ${shard}`);
    await redisCluster!.restartShard(shard);
    blown.push(`${elapsed()} shard ${shard} back, empty`);
  } else if (blow === "outage") {
    count("chaos: Redis taken away");
    await redis!.kill();
    blown.push(`${elapsed()} Redis away`);
    await sleep(200 + int(1800));
    await comeBack();
  } else if (nodes.length > 1) {
    const graceful = blow !== "kill";
    count(blow === "kill" ? "chaos: a node killed and another started" : `chaos: a node stopped (SIGTERM)${blow === "stop" ? "" : " while Redis was away"} and another started`);
    // Out of the turn first, so that no input goes to the dead node's port meanwhile.
    const [dead] = nodes.splice(int(nodes.length), 1);
    // Stopped while Redis is away, it cannot say it leaves: the others must take it for dead once Redis is back.
    if (blow === "stop in outage") await redis!.kill();
    blown.push(`${elapsed()} ${blow === "kill" ? "killing" : "stopping"} ${dead!.name}${blow === "stop in outage" ? ", Redis away" : ""}`);
    if (graceful) {
      const ended = await dead!.stop();
      if (ended) problems.push(ended);
    } else await dead!.kill();
    blown.push(`${elapsed()} ${dead!.name} ended`);
    if (blow === "stop in outage") await comeBack();
    // One that cannot start is a finding (one did: see bench/RESULTS.md, "Redis outages and nodes killed meanwhile").
    await startNode(args, expected).then(
      (node) => {
        nodes.push(node);
        blown.push(`${elapsed()} ${node.name} started`);
      },
      (error: Error) => problems.push(`a node started in place of another: ${error.message}`),
    );
  }
}

console.log(`npm run fuzz: ${values.seconds} s of bad input at Herald --workers ${values.workers}${redis ? ", two nodes on Redis" : ""}${redisCluster ? ", two nodes on a Redis Cluster" : ""}${values.chaos ? `, with chaos (${BLOWS.join(", ")})` : ""}, seed ${values.seed}`);
const until = Date.now() + Number(values.seconds) * 1000;
const run = Promise.all([
  ...Array.from({ length: 3 }, () => repeat(until, () => socketLife(next().port))),
  repeat(until, () => apiCall(next().port)),
  repeat(until, () => fallbackCall(next().port)),
  // Each session on one node: the load balancer's sticky sessions, which the fallback needs on a cluster.
  repeat(until, () => sessionLife(next().port)),
  repeat(until, () => feedLife(next().opsPort)),
  repeat(until, () => opsCall(next().opsPort)),
  ...(values.chaos ? [repeat(until, () => chaos(until))] : []),
]);
const ended = await Promise.race([run.then(() => undefined), anyNodeEnded]);
if (ended) problems.push(ended);
if (!ended) for (const node of nodes) problems.push(...(await afterTheRun(node)));
for (const [what, times] of [...seen].sort()) console.log(`  ${what}: ${times}`);
const left = ended ? [] : await leftBehind(nodes, 10_000);
if (left.length > 0) problems.push(...left, ...countsInRedis(left), `what the chaos did: ${blown.join(", ")}`);
// A thread that fails is a dead node's departure, webhooks included, and a Redis outage (Redis back with
// its data or empty) or a node stopped are reported exactly, so webhooks must balance then too. A node killed
// loses the webhooks it had not sent, as the README says, and one stopped while Redis is away is never
// reported as gone if Redis then comes back empty: after those, the count is only shown.
const webhooksMustBalance = BLOWS.every((blow) => blow === "thread" || blow === "outage" || blow === "stop" || blow === "shard");
const unbalanced = ended ? [] : await webhooksUnbalanced(receiver, webhooksMustBalance ? 5000 : 3000);
if (webhooksMustBalance && unbalanced.length > 0) problems.push(...unbalanced, `what the chaos did: ${blown.join(", ")}`);
if (!ended && !webhooksMustBalance) console.log(`  channels and members whose webhooks do not balance after the chaos: ${unbalanced.length}`);
await Promise.all(nodes.map((node) => node.kill()));
await redis?.kill();
redisCluster?.stop();
agent.destroy();
receiver.close();
console.log(problems.length === 0 ? `no error logged${values.chaos ? " but the chaos's own" : ""}, no thread restarted unasked, still answering, nothing left behind${webhooksMustBalance ? ", webhooks balanced" : ""}` : `PROBLEMS:\n${problems.join("\n")}`);
process.exit(problems.length === 0 ? 0 : 1);
