/**
 * The raw uWebSockets.js baseline: the least a Pusher-compatible server must do,
 * with none of Herald's checks. It accepts /app/{key}, sends the handshake,
 * subscribes sockets to topics (presence keeps a member map, sends the list on
 * join and member_added/removed to the others), and publishes HTTP-posted events
 * with app.publish. No signatures, limits or validation: the physical limit of
 * this stack, against which Herald is measured.
 *
 * With --workers N it is the least a server on N threads must do: N uWS apps in
 * worker threads on one port, each publish handed to every other thread as one
 * string over a MessagePort between the two, and each presence join or leave
 * copied to every thread the same way. No hub, no check of which thread has
 * subscribers: the floor of crossing threads on this stack, against which Herald's
 * --workers is measured.
 *
 * Usage: node baseline-server.js --port N [--workers N]
 */
import { createServer, type AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { isMainThread, MessageChannel, parentPort, Worker, workerData, type MessagePort } from "node:worker_threads";
import uWS from "uWebSockets.js";

interface Socket {
  id: string;
  presence: Map<string, string> | undefined; // channel → user id
}

interface Thread {
  port: number;
  thread: number;
  /** A port to each other thread. */
  peers: MessagePort[];
}

const { values } = parseArgs({ options: { port: { type: "string" }, workers: { type: "string" } } });
const workers = Number(values.workers ?? 1);

if (!isMainThread) serve(workerData as Thread);
else if (workers > 1) startWorkers();
else serve({ port: Number(values.port ?? 0), thread: 0, peers: [] });

// Exit normally on SIGINT so a --cpu-prof run writes its profile; workers close their apps first (exiting with a uWS app open aborts Node).
if (isMainThread && workers === 1) process.once("SIGINT", () => process.exit(0));

/** Every worker listens on one port (uWS listens with SO_REUSEPORT, but not on port 0: a free one is found first). */
function startWorkers(): void {
  const peers: MessagePort[][] = Array.from({ length: workers }, () => []);
  for (let a = 0; a < workers; a++) {
    for (let b = a + 1; b < workers; b++) {
      const { port1, port2 } = new MessageChannel();
      peers[a]!.push(port1);
      peers[b]!.push(port2);
    }
  }
  const threads: Worker[] = [];
  const start = (thread: number, port: number) =>
    new Promise<number>((listening) => {
      const data: Thread = { port, thread, peers: peers[thread]! };
      threads.push(new Worker(new URL(import.meta.url), { workerData: data, transferList: data.peers }).once("message", listening));
    });
  void (async () => {
    const port = Number(values.port ?? 0) || (await freePort());
    for (let thread = 0; thread < workers; thread++) await start(thread, port);
    console.log(JSON.stringify({ msg: "baseline listening", port, workers }));
  })();
  process.once("SIGINT", () => {
    for (const worker of threads) worker.postMessage("stop");
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function serve({ port, thread, peers }: Thread): void {
  const app = uWS.App();
  const members = new Map<string, Map<string, { info: unknown; sockets: number }>>();
  let sequence = 0;
  const node = Math.floor(Math.random() * 1e9);

  /** Publishes here and hands the frame to every other thread: "p", the channel, the frame. */
  function publishEverywhere(channel: string, frame: string): void {
    app.publish(channel, frame);
    if (peers.length) tell(`p\n${channel}\n${frame}`);
  }

  function tell(message: string): void {
    for (const peer of peers) peer.postMessage(message);
  }

  /** Counts a socket of a member in (returns whether the member is new); every thread keeps the whole map. */
  function join(channel: string, userId: string, info: unknown): boolean {
    let channelMembers = members.get(channel);
    if (!channelMembers) members.set(channel, (channelMembers = new Map()));
    const existing = channelMembers.get(userId);
    if (existing) existing.sockets += 1;
    else channelMembers.set(userId, { info, sockets: 1 });
    return !existing;
  }

  /** Counts a socket of a member out (returns whether the member is gone). */
  function leave(channel: string, userId: string): boolean {
    const channelMembers = members.get(channel)!;
    const member = channelMembers.get(userId)!;
    if (--member.sockets > 0) return false;
    channelMembers.delete(userId);
    return true;
  }

  for (const peer of peers) {
    peer.on("message", (message: string) => {
      const split = message.indexOf("\n", 2);
      const [kind, channel, rest] = [message[0], message.slice(2, split), message.slice(split + 1)];
      if (kind === "p") app.publish(channel, rest);
      else if (kind === "j") {
        const member = JSON.parse(rest) as { user_id: string; user_info: unknown };
        join(channel, member.user_id, member.user_info);
      } else leave(channel, rest);
    });
  }

  app.ws<Socket>("/app/:key", {
    idleTimeout: 0,
    maxPayloadLength: 100 * 1024,
    upgrade(res, req, context) {
      res.upgrade(
        { id: `${node}.${thread}.${++sequence}`, presence: undefined },
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },
    open(ws) {
      const data = JSON.stringify({ socket_id: ws.getUserData().id, activity_timeout: 120 });
      ws.send(JSON.stringify({ event: "pusher:connection_established", data }));
    },
    message(ws, message) {
      const frame = JSON.parse(Buffer.from(message).toString()) as { event: string; data?: { channel: string; channel_data?: string } };
      if (frame.event === "pusher:ping") return void ws.send('{"event":"pusher:pong","data":{}}');
      if (frame.event !== "pusher:subscribe" || !frame.data) return;
      const channel = frame.data.channel;
      ws.subscribe(channel);
      if (!channel.startsWith("presence-")) {
        ws.send(JSON.stringify({ event: "pusher_internal:subscription_succeeded", channel, data: "{}" }));
        return;
      }
      const member = JSON.parse(frame.data.channel_data!) as { user_id: string; user_info: unknown };
      const added = join(channel, member.user_id, member.user_info);
      if (peers.length) tell(`j\n${channel}\n${JSON.stringify(member)}`);
      (ws.getUserData().presence ??= new Map()).set(channel, member.user_id);
      const hash: Record<string, unknown> = {};
      for (const [id, { info }] of members.get(channel)!) hash[id] = info;
      const presence = { ids: Object.keys(hash), hash, count: members.get(channel)!.size };
      ws.send(JSON.stringify({ event: "pusher_internal:subscription_succeeded", channel, data: JSON.stringify({ presence }) }));
      if (added) {
        const data = JSON.stringify({ user_id: member.user_id, user_info: member.user_info });
        const memberAdded = JSON.stringify({ event: "pusher_internal:member_added", channel, data });
        // ws.publish skips the joining socket; the other threads have no such socket.
        ws.publish(channel, memberAdded);
        if (peers.length) tell(`p\n${channel}\n${memberAdded}`);
      }
    },
    close(ws) {
      const presence = ws.getUserData().presence;
      if (!presence) return;
      for (const [channel, userId] of presence) {
        if (peers.length) tell(`l\n${channel}\n${userId}`);
        if (leave(channel, userId)) {
          publishEverywhere(channel, JSON.stringify({ event: "pusher_internal:member_removed", channel, data: JSON.stringify({ user_id: userId }) }));
        }
      }
    },
  });

  function readJson(res: uWS.HttpResponse, then: (body: unknown) => void): void {
    let chunks: Buffer[] = [];
    res.onAborted(() => (chunks = []));
    res.onData((chunk, isLast) => {
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) then(JSON.parse(Buffer.concat(chunks).toString()));
    });
  }

  function publish(event: { name: string; data: string; channels?: string[]; channel?: string }): void {
    for (const channel of event.channels ?? [event.channel!]) {
      publishEverywhere(channel, JSON.stringify({ event: event.name, channel, data: event.data }));
    }
  }

  function reply(res: uWS.HttpResponse): void {
    res.cork(() => res.writeHeader("Content-Type", "application/json").end("{}"));
  }

  app.post("/apps/:id/events", (res) => readJson(res, (body) => (publish(body as Parameters<typeof publish>[0]), reply(res))));
  app.post("/apps/:id/batch_events", (res) =>
    readJson(res, (body) => {
      for (const event of (body as { batch: Parameters<typeof publish>[0][] }).batch) publish(event);
      reply(res);
    }),
  );

  parentPort?.on("message", () => {
    (app as uWS.TemplatedApp & { close(): void }).close();
    for (const peer of peers) peer.close();
    parentPort!.close();
  });

  app.listen("127.0.0.1", port, (socket) => {
    if (!socket) throw new Error("baseline: cannot listen");
    const listening = uWS.us_socket_local_port(socket);
    if (parentPort) parentPort.postMessage(listening);
    else console.log(JSON.stringify({ msg: "baseline listening", port: listening }));
  });
}
