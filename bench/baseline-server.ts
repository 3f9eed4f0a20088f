/**
 * The raw uWebSockets.js baseline: the least a Pusher-compatible server must do,
 * with none of Herald's checks. It accepts /app/{key}, sends the handshake,
 * subscribes sockets to topics (presence keeps a member map, sends the list on
 * join and member_added/removed to the others), and publishes HTTP-posted events
 * with app.publish. No signatures, limits or validation: the physical limit of
 * this stack, against which Herald is measured.
 *
 * Usage: node baseline-server.js --port N
 */
import { parseArgs } from "node:util";
import uWS from "uWebSockets.js";

interface Socket {
  id: string;
  presence: Map<string, string> | undefined; // channel → user id
}

const { values } = parseArgs({ options: { port: { type: "string" } } });
const app = uWS.App();
const members = new Map<string, Map<string, { info: unknown; sockets: number }>>();
let sequence = 0;
const node = Math.floor(Math.random() * 1e9);

app.ws<Socket>("/app/:key", {
  idleTimeout: 0,
  maxPayloadLength: 100 * 1024,
  upgrade(res, req, context) {
    res.upgrade(
      { id: `${node}.${++sequence}`, presence: undefined },
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
    let channelMembers = members.get(channel);
    if (!channelMembers) members.set(channel, (channelMembers = new Map()));
    const existing = channelMembers.get(member.user_id);
    if (existing) existing.sockets += 1;
    else channelMembers.set(member.user_id, { info: member.user_info, sockets: 1 });
    (ws.getUserData().presence ??= new Map()).set(channel, member.user_id);
    const hash: Record<string, unknown> = {};
    for (const [id, { info }] of channelMembers) hash[id] = info;
    const presence = { ids: Object.keys(hash), hash, count: channelMembers.size };
    ws.send(JSON.stringify({ event: "pusher_internal:subscription_succeeded", channel, data: JSON.stringify({ presence }) }));
    if (!existing) {
      const added = JSON.stringify({ user_id: member.user_id, user_info: member.user_info });
      ws.publish(channel, JSON.stringify({ event: "pusher_internal:member_added", channel, data: added }));
    }
  },
  close(ws) {
    const presence = ws.getUserData().presence;
    if (!presence) return;
    for (const [channel, userId] of presence) {
      const channelMembers = members.get(channel)!;
      const member = channelMembers.get(userId)!;
      if (--member.sockets > 0) continue;
      channelMembers.delete(userId);
      app.publish(channel, JSON.stringify({ event: "pusher_internal:member_removed", channel, data: JSON.stringify({ user_id: userId }) }));
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
    app.publish(channel, JSON.stringify({ event: event.name, channel, data: event.data }));
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

app.listen("127.0.0.1", Number(values.port ?? 0), (socket) => {
  if (!socket) throw new Error("baseline: cannot listen");
  console.log(JSON.stringify({ msg: "baseline listening", port: uWS.us_socket_local_port(socket) }));
});

// Exit normally on SIGINT so a --cpu-prof run writes its profile.
process.once("SIGINT", () => process.exit(0));
