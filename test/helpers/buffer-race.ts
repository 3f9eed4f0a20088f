/**
 * A vacant channel's kept event against a live one: in each round an event is kept for a fresh
 * channel (under a rule of `maxEvents: 1`), a socket subscribes through `subscribePort`, and the
 * moment it hears subscription_succeeded a marker is published through `publishPort`. The marker
 * must come live, after the kept event: kept in its stead, it would push that event out. Threads
 * and nodes make this a race that shows only in some rounds, and only where the kernel put the
 * socket and the publisher's connection on the right threads, so lanes of rounds run side by side,
 * each with a socket and a keep-alive connection of its own. The socket stays for the lane's rounds
 * (a new one each round cost a burst of handshakes that other test files' Heralds felt).
 */
import { Agent } from "node:http";
import { expect } from "vitest";
import { RawClient, serverSdk } from "./clients.js";
import type { AppConfig } from "./herald.js";

export async function keptThenLive(options: { subscribePort: number; publishPort: number; app: AppConfig; channelPrefix: string; lanes?: number; rounds?: number }): Promise<void> {
  const { subscribePort, publishPort, app, channelPrefix, lanes = 8, rounds = 50 } = options;
  const lane = async (agent: Agent, lane: number) => {
    const publisher = serverSdk(publishPort, app, { agent });
    // One socket a lane: each round's channel is new, so the socket is its first subscriber every time.
    const client = await RawClient.connect(subscribePort, app.key);
    const socketId = await client.socketId();
    let inChannel = () => {};
    // Published as soon as the socket hears it is in (RawClient.event looks every 5 ms).
    client.ws.on("message", (data) => String(data).includes("subscription_succeeded") && inChannel());
    for (let round = 0; round < rounds; round++) {
      const channel = `${channelPrefix}${lane}-${round}`;
      await publisher.trigger(channel, "kept", {});
      const auth = channel.startsWith("private-") ? publisher.authorizeChannel(socketId, channel).auth : undefined;
      const subscribed = new Promise<void>((resolve) => (inChannel = resolve));
      client.send({ event: "pusher:subscribe", data: auth === undefined ? { channel } : { channel, auth } });
      await subscribed;
      await publisher.trigger(channel, "marker", {});
      await client.next((frame) => frame.event === "marker" && frame.channel === channel);
      const events = client.frames.filter((frame) => frame.channel === channel && !frame.event.startsWith("pusher")).map((frame) => frame.event);
      expect(events, `lane ${lane}, round ${round}`).toEqual(["kept"]);
      client.send({ event: "pusher:unsubscribe", data: { channel } });
    }
    client.close();
  };
  const agents = Array.from({ length: lanes }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  try {
    await Promise.all(agents.map(lane));
  } finally {
    for (const agent of agents) agent.destroy();
  }
}
