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
 *   npm run bench:soak [-- --workers 2] [--rounds 20] [--sockets 1000]
 */
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { channelAuthString, hmacSha256Hex, userAuthString } from "../src/protocol/signatures.js";
import { collectGarbage } from "./lib/inspector.js";
import { rssKb } from "./lib/proc.js";
import { post } from "./lib/publisher.js";
import { BENCH_APP, startServer } from "./lib/servers.js";

const { values } = parseArgs({ options: { workers: { type: "string", default: "1" }, rounds: { type: "string", default: "20" }, sockets: { type: "string", default: "1000" } } });
const [rounds, sockets] = [Number(values.rounds), Number(values.sockets)];
/** Herald holds emptied channels and departed members this long before they are gone (README, "Stopping"). */
const DEPARTURE_HOLD_MS = 3000;
const SHARED_CHANNELS = 20;

const sign = (text: string) => `${BENCH_APP.key}:${hmacSha256Hex(BENCH_APP.secret, text)}`;
const mb = (bytes: number) => (bytes / 1e6).toFixed(2);

/** One socket's life up to its pong: everything it sends is answered by then (frames are handled in order). */
async function churn(port: number, round: number, index: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/app/${BENCH_APP.key}?protocol=7&client=js&version=8.4.0`);
  const socketId = await new Promise<string>((resolve, reject) => {
    ws.once("message", (data) => resolve((JSON.parse(JSON.parse(String(data)).data as string) as { socket_id: string }).socket_id));
    ws.once("error", reject);
  });
  const pong = new Promise<void>((resolve) => ws.on("message", (data) => String(data).includes('"pusher:pong"') && resolve()));
  const send = (event: string, data: unknown, channel?: string) => ws.send(JSON.stringify({ event, data, channel }));
  const user = `r${round}-u${index}`;
  const shared = index % SHARED_CHANNELS;
  const member = JSON.stringify({ user_id: user, user_info: { name: user, padding: "x".repeat(index % 64) } });
  send("pusher:subscribe", { channel: `soak-${shared}` });
  send("pusher:subscribe", { channel: `private-soak-${shared}`, auth: sign(channelAuthString(socketId, `private-soak-${shared}`)) });
  for (const channel of [`presence-soak-${shared}`, `presence-soak-${user}`]) send("pusher:subscribe", { channel, auth: sign(channelAuthString(socketId, channel, member)), channel_data: member });
  const userData = JSON.stringify({ id: user, watchlist: [`r${round}-u${index + 1}`] });
  send("pusher:signin", { auth: sign(userAuthString(socketId, userData)), user_data: userData });
  send("client-typing", { index }, `private-soak-${shared}`);
  ws.send("{not json");
  send("pusher:subscribe", { channel: "private-soak-refused", auth: `${BENCH_APP.key}:bad` });
  if (index % 3 === 0) send("pusher:unsubscribe", { channel: `presence-soak-${shared}` });
  send("pusher:ping", {});
  await pong;
  return ws;
}

async function get(port: number, path: string, query: string, signature?: string): Promise<number> {
  const signed = `auth_key=${BENCH_APP.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&${query}`;
  const response = await fetch(`http://127.0.0.1:${port}${path}?${signed}&auth_signature=${signature ?? hmacSha256Hex(BENCH_APP.secret, `GET\n${path}\n${signed}`)}`);
  return response.status;
}

const server = await startServer("herald", ["--inspect=127.0.0.1:0"], ["--workers", values.workers!]);
console.log(`Herald with --workers ${values.workers}: ${rounds} rounds of ${sockets} sockets (heaps after a full collection, MB)`);
/** Every thread's heap together, after each round. */
const heaps: number[] = [];
for (let round = 0; round < rounds; round++) {
  const open = await Promise.all(Array.from({ length: sockets }, (_, index) => churn(server.port, round, index)));
  const api = `/apps/${BENCH_APP.id}`;
  const statuses = await Promise.all([
    ...Array.from({ length: SHARED_CHANNELS }, (_, n) => post(server.port, `${api}/events`, JSON.stringify({ name: "soak", channels: [`soak-${n}`, `private-soak-${n}`], data: "x".repeat(100) }))),
    get(server.port, `${api}/channels`, "filter_by_prefix=presence-&info=user_count"),
    get(server.port, `${api}/channels/presence-soak-1/users`, ""),
    get(server.port, `${api}/channels`, "", "0".repeat(64)),
    post(server.port, `${api}/users/r${round}-u1/terminate_connections`, "{}"),
  ]);
  for (const ws of open) ws.close();
  await new Promise((resolve) => setTimeout(resolve, DEPARTURE_HOLD_MS + 600));
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
  console.log(`heap growth from round ${middle + 1} to ${rounds}: ${mb(growth)} MB over ${churned} sockets, ${(growth / churned).toFixed(1)} bytes per socket`);
}
await server.stop();
