/** Watchlist events: a signed-in user hears the users on its watchlist come online and go offline. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, nextCall, pusherClient, serverSdk, signedIn, sleep, caughtUp, disconnected, type Pusher, type UserData } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type Herald } from "./helpers/herald.js";

interface WatchlistEvent {
  name: string;
  user_ids: string[];
}

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald();
});
afterAll(() => herald.stop());

/** A pusher-js client that records its watchlist events, signed in as `user`. */
async function watcher(user: UserData): Promise<{ client: Pusher; events: WatchlistEvent[] }> {
  const client = pusherClient(herald.port, DEMO_APP, { signinAs: user });
  const events: WatchlistEvent[] = [];
  client.user.watchlist.bind("online", (event: WatchlistEvent) => events.push(event));
  client.user.watchlist.bind("offline", (event: WatchlistEvent) => events.push(event));
  await signedIn(client);
  return { client, events };
}

async function online(id: string): Promise<Pusher> {
  const client = pusherClient(herald.port, DEMO_APP, { signinAs: { id } });
  await signedIn(client);
  return client;
}

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(5);
  }
}

describe("watchlist", () => {
  it("says which watched users are already online at sign-in", async () => {
    const bob = await online("wl-bob");
    const carol = await online("wl-carol");
    const { client, events } = await watcher({ id: "wl-alice", watchlist: ["wl-bob", "wl-carol", "wl-dave"] });
    await until(() => events.length > 0);
    await caughtUp(client);
    // One event naming every watched user who is online; wl-dave is not.
    expect(events).toHaveLength(1);
    expect(events[0]!.name).toBe("online");
    expect([...events[0]!.user_ids].sort()).toEqual(["wl-bob", "wl-carol"]);
    for (const c of [bob, carol, client]) c.disconnect();
  });

  it("tells a watcher of a user who signs in as it does once, on whichever thread each lands", async () => {
    // The watcher's question of who is online and the user's coming race: the answer may name
    // the user or not, and the announcement may reach the watcher's thread before or after it.
    const pairs = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const userId = `wl-racing-${i}`;
        const [user, { client, events }] = await Promise.all([online(userId), watcher({ id: `wl-racer-${i}`, watchlist: [userId] })]);
        return { userId, user, client, events };
      }),
    );
    for (const { userId, user, client, events } of pairs) {
      await until(() => events.some((event) => event.user_ids.includes(userId)));
      // The user's offline comes after any online of it still on its way: the later marker.
      user.disconnect();
      await until(() => events.some((event) => event.name === "offline"));
      expect(events.flatMap((event) => event.user_ids.map((id) => `${event.name} ${id}`))).toEqual([`online ${userId}`, `offline ${userId}`]);
      client.disconnect();
    }
  });

  it("sends online with a user's first socket and offline with its last", async () => {
    const { client, events } = await watcher({ id: "wl-erin", watchlist: ["wl-frank"] });
    await caughtUp(client);
    expect(events).toEqual([]);

    const firstTab = await online("wl-frank");
    await until(() => events.length === 1);
    expect(events[0]).toEqual({ name: "online", user_ids: ["wl-frank"] });

    const secondTab = await online("wl-frank");
    await disconnected(firstTab);
    await caughtUp(client);
    expect(events).toHaveLength(1);

    secondTab.disconnect();
    await until(() => events.length === 2);
    expect(events[1]).toEqual({ name: "offline", user_ids: ["wl-frank"] });
    client.disconnect();
  });

  it("tells only the users whose watchlist names the user", async () => {
    const { client: watching, events: heard } = await watcher({ id: "wl-gina", watchlist: ["wl-hank"] });
    const { client: other, events: notHeard } = await watcher({ id: "wl-ivan", watchlist: ["wl-someone-else"] });
    const hank = await online("wl-hank");
    await until(() => heard.length === 1);
    await caughtUp(other);
    expect(notHeard).toEqual([]);
    for (const c of [watching, other, hank]) c.disconnect();
  });

  it("answers a watchlist of more than 100 with pusher:error 4302 after signin_success, and keeps the sign-in", async () => {
    const raw = await RawClient.connect(herald.port);
    const socketId = await raw.socketId();
    const watchlist = Array.from({ length: 101 }, (_, i) => `wl-many-${i}`);
    raw.send({ event: "pusher:signin", data: serverSdk(herald.port, DEMO_APP).authenticateUser(socketId, { id: "wl-greedy", watchlist }) });
    await raw.event("pusher:signin_success");
    const error = await raw.event("pusher:error");
    expect(error.data).toEqual({ code: 4302, message: "The watchlist has 101 users; at most 100 are allowed, so no watchlist events will be sent." });
    expect(raw.frames.map((frame) => frame.event)).toEqual([]);

    const watched = await online("wl-many-0");
    await raw.caughtUp();
    expect(raw.frames.filter((frame) => frame.event === "pusher_internal:watchlist_events")).toEqual([]);
    raw.send({ event: "pusher:subscribe", data: { channel: "#server-to-user-wl-greedy", auth: "" } });
    await raw.event("pusher_internal:subscription_succeeded");
    expect(raw.closeCode).toBeUndefined();
    raw.close();
    watched.disconnect();
  });

  it("is not reachable as a channel by clients or the HTTP API", async () => {
    const { client, events } = await watcher({ id: "wl-judy", watchlist: ["wl-kim"] });
    const raw = await RawClient.connect(herald.port);
    await raw.socketId();
    raw.send({ event: "pusher:subscribe", data: { channel: "#watchers:wl-kim", auth: "" } });
    expect(await raw.event("pusher:subscription_error")).toMatchObject({ data: { type: "InvalidChannel", status: 400 } });
    const published = nextCall<unknown>();
    // post() JSON-encodes the body, though its declaration says string; trigger() would refuse the name itself.
    const body = { name: "pusher_internal:watchlist_events", data: "{}", channels: ["#watchers:wl-kim"] } as unknown as string;
    serverSdk(herald.port, DEMO_APP).post({ path: "/events", body })
      .then(published.callback, (error: { status: number }) => published.callback(error.status));
    expect(await published.promise).toBe(400);
    await caughtUp(client);
    expect(events).toEqual([]);
    client.disconnect();
    raw.close();
  });
});
