/**
 * A load-generating worker process: many raw WebSocket clients (not pusher-js,
 * which would cost more than the server it measures), driven by the benchmark
 * over IPC. It counts and times the events its sockets receive.
 */
import WebSocket from "ws";
import { hmacSha256Hex } from "../src/protocol/signatures.js";
import { LatencyHistogram, clockMs } from "./lib/histogram.js";
import type { WorkerCommand, WorkerReply } from "./lib/worker-protocol.js";

interface Client {
  ws: WebSocket;
  socketId: string;
  /** Subscriptions still waiting for subscription_succeeded. */
  pending: number;
  /** Exact mode: how many times each event sequence number arrived. */
  seen: Uint8Array | undefined;
}

const clients: Client[] = [];
let histogram = new LatencyHistogram();
let received = 0;
let exactEvents = 0;
let lastSucceededAt = 0;
let subscribeErrors = 0;
const SEQ = /\\"seq\\":(\d+),\\"t\\":([\d.]+)/;

function onFrame(client: Client, text: string): void {
  if (text.startsWith('{"event":"bench"')) {
    const match = SEQ.exec(text);
    if (!match) return;
    received += 1;
    histogram.add(clockMs() - Number(match[2]));
    if (client.seen) {
      const seq = Number(match[1]);
      if (seq < client.seen.length) client.seen[seq] = Math.min(255, client.seen[seq]! + 1);
    }
  } else if (text.includes("pusher_internal:subscription_succeeded")) {
    client.pending -= 1;
    lastSucceededAt = clockMs();
  } else if (text.includes("pusher:subscription_error")) {
    client.pending -= 1;
    subscribeErrors += 1;
  }
}

function connectOne(url: string): Promise<Client | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client: Client = { ws, socketId: "", pending: 0, seen: undefined };
    ws.on("message", (data) => {
      const text = String(data);
      if (!client.socketId && text.includes("pusher:connection_established")) {
        client.socketId = (JSON.parse((JSON.parse(text) as { data: string }).data) as { socket_id: string }).socket_id;
        resolve(client);
        return;
      }
      onFrame(client, text);
    });
    ws.on("error", () => resolve(null));
  });
}

async function connect(url: string, count: number, concurrency: number): Promise<WorkerReply> {
  let next = 0;
  let failed = 0;
  const lane = async () => {
    while (next < count) {
      next += 1;
      const client = await connectOne(url);
      if (client) clients.push(client);
      else failed += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { connected: clients.length, failed };
}

function subscribeFrame(client: Client, channel: string, key: string, secret: string, userId: string): string {
  if (channel.startsWith("presence-")) {
    const channelData = JSON.stringify({ user_id: userId, user_info: { name: `user ${userId}` } });
    const auth = `${key}:${hmacSha256Hex(secret, `${client.socketId}:${channel}:${channelData}`)}`;
    return JSON.stringify({ event: "pusher:subscribe", data: { channel, auth, channel_data: channelData } });
  }
  const auth = channel.startsWith("private-") ? `${key}:${hmacSha256Hex(secret, `${client.socketId}:${channel}`)}` : "";
  return JSON.stringify({ event: "pusher:subscribe", data: { channel, auth } });
}

/** Sends every subscription at once and resolves when all are answered. */
async function subscribe(plan: string[][], key: string, secret: string, workerTag: string): Promise<WorkerReply> {
  const started = clockMs();
  subscribeErrors = 0;
  // Frames are built first so the burst measures the server, not the signing.
  const frames = plan.map((channels, index) => channels.map((channel) => subscribeFrame(clients[index]!, channel, key, secret, `${workerTag}-${index}`)));
  const sentAt = clockMs();
  frames.forEach((list, index) => {
    const client = clients[index]!;
    client.pending += list.length;
    for (const frame of list) client.ws.send(frame);
  });
  while (clients.some((client) => client.pending > 0)) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (clockMs() - started > 120_000) break;
  }
  return { startedAt: sentAt, finishedAt: lastSucceededAt, errors: subscribeErrors, unanswered: clients.reduce((sum, c) => sum + c.pending, 0) };
}

function report(): WorkerReply {
  let missing = 0;
  let duplicates = 0;
  for (const client of clients) {
    if (!client.seen) continue;
    for (const count of client.seen) {
      if (count === 0) missing += 1;
      else duplicates += count - 1;
    }
  }
  return { received, missing, duplicates, histogram: histogram.toSparse(), exactEvents };
}

async function handle(command: WorkerCommand): Promise<WorkerReply> {
  switch (command.cmd) {
    case "connect":
      return connect(command.url, command.count, command.concurrency);
    case "subscribe":
      return subscribe(command.plan, command.key, command.secret, command.workerTag);
    case "track":
      histogram = new LatencyHistogram();
      received = 0;
      exactEvents = command.exactEvents;
      for (const client of clients) client.seen = exactEvents > 0 ? new Uint8Array(exactEvents) : undefined;
      return {};
    case "report":
      return report();
    case "count":
      return { received };
    case "close":
      for (const client of clients.splice(0)) client.ws.terminate();
      return {};
  }
}

process.on("message", (message: { id: number; command: WorkerCommand }) => {
  handle(message.command).then(
    (result) => process.send!({ id: message.id, result }),
    (error: unknown) => process.send!({ id: message.id, error: String(error) }),
  );
});
