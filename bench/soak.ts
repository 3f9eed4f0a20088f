/**
 * Memory under churn: rounds of sockets that connect, subscribe to public, private and
 * presence channels (one shared by many, one of their own), sign in with a watchlist,
 * send client events, a malformed frame and a badly signed subscribe, leave a channel,
 * and close; between them signed and badly signed HTTP API calls, and a user's
 * connections terminated. Every user and every channel of its own is new in each round,
 * so whatever Herald kept of one would add up. After each round and Herald's departure
 * hold, every thread's heap is collected and read through the inspector. It prints the
 * heaps and RSS per round; a leak shows as a heap that keeps growing with the sockets
 * churned. Numbers only: nothing is asserted.
 *
 * With `--transport xhr_polling` each client is a session of pusher-js's HTTP fallback
 * instead, which ends by no longer polling (the session expires) rather than a close.
 *
 *   npm run bench:soak [-- --workers 2] [--rounds 20] [--sockets 1000] [--transport xhr_polling]
 */
import http from "node:http";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { channelAuthString, hmacSha256Hex, userAuthString } from "../src/protocol/signatures.js";
import { collectGarbage } from "./lib/inspector.js";
import { rssKb } from "./lib/proc.js";
import { keepAliveAgent, post } from "./lib/publisher.js";
import { BENCH_APP, startServer } from "./lib/servers.js";

const { values } = parseArgs({
  options: { workers: { type: "string", default: "1" }, rounds: { type: "string", default: "20" }, sockets: { type: "string", default: "1000" }, transport: { type: "string", default: "ws" } },
});
const [rounds, sockets] = [Number(values.rounds), Number(values.sockets)];
/** Herald holds emptied channels and departed members this long before they are gone (README, "Stopping"). */
const DEPARTURE_HOLD_MS = 3000;
/** An HTTP fallback session with no receive request for this long is gone (src/timings.ts). */
const SESSION_EXPIRY_MS = 5000;
if (values.transport !== "ws" && values.transport !== "xhr_polling") throw new Error("--transport is ws or xhr_polling");
const overHttp = values.transport === "xhr_polling";
const SHARED_CHANNELS = 20;

const sign = (text: string) => `${BENCH_APP.key}:${hmacSha256Hex(BENCH_APP.secret, text)}`;
const mb = (bytes: number) => (bytes / 1e6).toFixed(2);

/** What one socket sends in its life, after connection_established gave it `socketId`; a ping last. */
function lifeOf(socketId: string, round: number, index: number): string[] {
  const frame = (event: string, data: unknown, channel?: string) => JSON.stringify({ event, data, channel });
  const user = `r${round}-u${index}`;
  const shared = index % SHARED_CHANNELS;
  const member = JSON.stringify({ user_id: user, user_info: { name: user, padding: "x".repeat(index % 64) } });
  const userData = JSON.stringify({ id: user, watchlist: [`r${round}-u${index + 1}`] });
  return [
    frame("pusher:subscribe", { channel: `soak-${shared}` }),
    frame("pusher:subscribe", { channel: `private-soak-${shared}`, auth: sign(channelAuthString(socketId, `private-soak-${shared}`)) }),
    ...[`presence-soak-${shared}`, `presence-soak-${user}`].map((channel) => frame("pusher:subscribe", { channel, auth: sign(channelAuthString(socketId, channel, member)), channel_data: member })),
    frame("pusher:signin", { auth: sign(userAuthString(socketId, userData)), user_data: userData }),
    frame("client-typing", { index }, `private-soak-${shared}`),
    "{not json",
    frame("pusher:subscribe", { channel: "private-soak-refused", auth: `${BENCH_APP.key}:bad` }),
    ...(index % 3 === 0 ? [frame("pusher:unsubscribe", { channel: `presence-soak-${shared}` })] : []),
    frame("pusher:ping", {}),
  ];
}

/** A client that has lived its life up to its pong (frames are handled in order, so everything is answered by then), and its end. */
type Lived = () => void;

/** Over a WebSocket: ends with a close. */
async function churn(port: number, round: number, index: number): Promise<Lived> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${BENCH_APP.key}?protocol=7&client=js&version=8.4.0`);
  const socketId = await new Promise<string>((resolve, reject) => {
    ws.once("message", (data) => resolve((JSON.parse(JSON.parse(String(data)).data as string) as { socket_id: string }).socket_id));
    ws.once("error", reject);
  });
  const pong = new Promise<void>((resolve) => ws.on("message", (data) => String(data).includes('"pusher:pong"') && resolve()));
  for (const text of lifeOf(socketId, round, index)) ws.send(text);
  await pong;
  return () => ws.close();
}

const sessionAgent = keepAliveAgent();

function sessionPost(port: number, path: string, body = ""): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, method: "POST", path, agent: sessionAgent, headers: { "content-type": "application/json" } }, (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => resolve(text));
    });
    request.on("error", reject);
    request.end(body);
  });
}

/** Over pusher-js's xhr_polling fallback: ends by no longer polling, as a closed page does, so the session expires. */
async function churnSession(port: number, round: number, index: number): Promise<Lived> {
  const base = `/pusher/app/${BENCH_APP.key}/${index % 1000}/r${round}s${index}`;
  let polls = 0;
  const poll = () => sessionPost(port, `${base}/xhr?protocol=7&client=js&version=8.4.0&n=${polls++}`);
  const opening = (await poll()).split("\n").find((line) => line.startsWith("a"))!;
  const established = JSON.parse((JSON.parse(opening.slice(1)) as string[])[0]!) as { data: string };
  const { socket_id: socketId } = JSON.parse(established.data) as { socket_id: string };
  await sessionPost(port, `${base}/xhr_send?n=${polls++}`, JSON.stringify(lifeOf(socketId, round, index)));
  for (let text = await poll(); !text.includes("pusher:pong"); text = await poll()) {
    if (/^c\[/m.test(text)) throw new Error(`session ${base} closed: ${text}`);
  }
  return () => {};
}

async function get(port: number, path: string, query: string, signature?: string): Promise<number> {
  const signed = `auth_key=${BENCH_APP.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&${query}`;
  const response = await fetch(`http://127.0.0.1:${port}${path}?${signed}&auth_signature=${signature ?? hmacSha256Hex(BENCH_APP.secret, `GET\n${path}\n${signed}`)}`);
  return response.status;
}

const server = await startServer("herald", ["--inspect=127.0.0.1:0"], ["--workers", values.workers!]);
console.log(`Herald with --workers ${values.workers}: ${rounds} rounds of ${sockets} ${overHttp ? "xhr_polling sessions" : "sockets"} (heaps after a full collection, MB)`);
/** Every thread's heap together, after each round. */
const heaps: number[] = [];
for (let round = 0; round < rounds; round++) {
  const open = await Promise.all(Array.from({ length: sockets }, (_, index) => (overHttp ? churnSession : churn)(server.port, round, index)));
  const api = `/apps/${BENCH_APP.id}`;
  const statuses = await Promise.all([
    ...Array.from({ length: SHARED_CHANNELS }, (_, n) => post(server.port, `${api}/events`, JSON.stringify({ name: "soak", channels: [`soak-${n}`, `private-soak-${n}`], data: "x".repeat(100) }))),
    get(server.port, `${api}/channels`, "filter_by_prefix=presence-&info=user_count"),
    get(server.port, `${api}/channels/presence-soak-1/users`, ""),
    get(server.port, `${api}/channels`, "", "0".repeat(64)),
    post(server.port, `${api}/users/r${round}-u1/terminate_connections`, "{}"),
  ]);
  for (const end of open) end();
  await new Promise((resolve) => setTimeout(resolve, (overHttp ? SESSION_EXPIRY_MS : 0) + DEPARTURE_HOLD_MS + 600));
  const [main, ...workers] = await collectGarbage(server.inspectorUrl!);
  const total = main! + workers.reduce((a, b) => a + b, 0);
  heaps.push(total);
  const threads = workers.length > 0 ? ` (main ${mb(main!)}, workers ${workers.map(mb).join(", ")})` : "";
  console.log(`round ${round + 1}: heap ${mb(total)}${threads}, RSS ${(rssKb(server.pid) / 1024).toFixed(1)} MB, HTTP API ${[...new Set(statuses)].sort().join("/")}`);
}
// Over the second half only: the first rounds also fill what is kept once (optimised code, caches), then it levels off.
const middle = Math.floor(rounds / 2) - 1;
if (middle > 0) {
  const growth = heaps.at(-1)! - heaps[middle]!;
  const churned = (rounds - 1 - middle) * sockets;
  const unit = overHttp ? "session" : "socket";
  console.log(`heap growth from round ${middle + 1} to ${rounds}: ${mb(growth)} MB over ${churned} ${unit}s, ${(growth / churned).toFixed(1)} bytes per ${unit}`);
}
await server.stop();
