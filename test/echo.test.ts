/**
 * A Vue frontend on Laravel Echo and a Laravel backend on the pusher driver
 * (played by the `pusher` SDK), against a real Herald, with no code change.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import nacl from "tweetnacl";
import type Echo from "laravel-echo";
import { echoClient, echoPusher, connected, nextCall, serverSdk, caughtUp, disconnected, echoReady } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type Herald } from "./helpers/herald.js";

let herald: Herald;
const open: Echo<"pusher">[] = [];

beforeAll(async () => {
  herald = await startHerald();
});
afterAll(() => herald.stop());
afterEach(() => {
  for (const echo of open.splice(0)) echo.disconnect();
});

function echo(options: Parameters<typeof echoClient>[2] = {}): Echo<"pusher"> {
  const client = echoClient(herald.port, DEMO_APP, options);
  open.push(client);
  return client;
}


describe("Laravel Echo against Herald", () => {
  it("delivers a namespaced Laravel event on a public channel to Echo.channel().listen()", async () => {
    const client = echo();
    const received = nextCall<unknown>();
    const channel = client.channel("orders").listen("OrderShipped", received.callback);
    await echoReady(channel);
    // Laravel broadcasts the event's class name, backslashes and all.
    await serverSdk(herald.port, DEMO_APP).trigger("orders", "App\\Events\\OrderShipped", { order: { id: 42 } });
    expect(await received.promise).toEqual({ order: { id: 42 } });
  });

  it("works with Echo's reverb broadcaster pointed at Herald", async () => {
    const client = echo({ broadcaster: "reverb" });
    const received = nextCall<unknown>();
    const channel = client.channel("news").listen(".breaking", received.callback);
    await echoReady(channel);
    await serverSdk(herald.port, DEMO_APP).trigger("news", "breaking", { headline: "hi" });
    expect(await received.promise).toEqual({ headline: "hi" });
  });

  it("authorizes Echo.private() and delivers to it", async () => {
    const client = echo();
    const received = nextCall<unknown>();
    const channel = client.private("orders.7").listen(".status", received.callback);
    await echoReady(channel);
    await serverSdk(herald.port, DEMO_APP).trigger("private-orders.7", "status", { status: "paid" });
    expect(await received.promise).toEqual({ status: "paid" });
  });

  it("reports a bad signature through Echo's error callback and keeps the connection", async () => {
    const wrongSecret = serverSdk(herald.port, { ...DEMO_APP, secret: "not-the-secret" });
    const client = echo({ authorizer: wrongSecret });
    const failed = nextCall<{ type: string; status: number }>();
    client.private("orders.8").error(failed.callback);
    expect(await failed.promise).toMatchObject({ type: "AuthError", status: 401 });
    const public_ = client.channel("still-works");
    await echoReady(public_);
    expect(echoPusher(client).connection.state).toBe("connected");
  });

  it("runs Echo.join() here/joining/leaving once per user, whatever the number of tabs", async () => {
    const ada = { user_id: 1, user_info: { name: "Ada" } };
    const bob = { user_id: "2", user_info: { name: "Bob" } };
    const first = echo({ user: ada });
    const here = nextCall<Array<{ name: string }>>();
    const joined: unknown[] = [];
    const left: unknown[] = [];
    const room = first.join("room.1").here(here.callback).joining((user: unknown) => joined.push(user)).leaving((user: unknown) => left.push(user));
    expect(await here.promise).toEqual([{ name: "Ada" }]);

    const second = echo({ user: bob });
    const bobHere = nextCall<Array<{ name: string }>>();
    second.join("room.1").here(bobHere.callback);
    expect((await bobHere.promise).map((user) => user.name).sort()).toEqual(["Ada", "Bob"]);
    await expect.poll(() => joined).toEqual([{ name: "Bob" }]);

    // Bob opens a second tab: nobody hears about it.
    const bobTab = echo({ user: bob });
    const tabHere = nextCall<unknown[]>();
    bobTab.join("room.1").here(tabHere.callback);
    expect(await tabHere.promise).toHaveLength(2);
    await caughtUp(echoPusher(first));
    expect(joined).toHaveLength(1);

    // Closing one tab leaves Bob present; closing the last one removes him, once.
    await disconnected(echoPusher(bobTab));
    await caughtUp(echoPusher(first));
    expect(left).toEqual([]);
    second.disconnect();
    await expect.poll(() => left).toEqual([{ name: "Bob" }]);
    // What pusher-js under Echo holds now: Ada alone, as herself.
    const members = (room as unknown as { subscription: { members: { count: number; me: unknown } } }).subscription.members;
    expect(members.count).toBe(1);
    expect(members.me).toEqual({ id: 1, info: { name: "Ada" } });

    const users = await serverSdk(herald.port, DEMO_APP).get({ path: "/channels/presence-room.1/users" });
    expect(await users.json()).toEqual({ users: [{ id: "1" }] });
  });

  it("passes whispers to the others on a private channel and never back to the sender", async () => {
    const alice = echo();
    const bob = echo();
    const aliceHeard: unknown[] = [];
    const bobHeard = nextCall<unknown>();
    const aliceChannel = alice.private("chat.1").listenForWhisper("typing", (event: unknown) => aliceHeard.push(event));
    const bobChannel = bob.private("chat.1").listenForWhisper("typing", bobHeard.callback);
    await Promise.all([echoReady(aliceChannel), echoReady(bobChannel)]);
    aliceChannel.whisper("typing", { name: "Alice" });
    expect(await bobHeard.promise).toEqual({ name: "Alice" });
    await caughtUp(echoPusher(alice));
    expect(aliceHeard).toEqual([]);
  });

  it("delivers Laravel notifications to .notification() on private-App.Models.User.{id}", async () => {
    const client = echo();
    const notified = nextCall<{ type: string; invoice: number }>();
    const channel = client.private("App.Models.User.5").notification(notified.callback);
    await echoReady(channel);
    await serverSdk(herald.port, DEMO_APP).trigger(
      "private-App.Models.User.5",
      "Illuminate\\Notifications\\Events\\BroadcastNotificationCreated",
      { id: "9b1d", type: "App\\Notifications\\InvoicePaid", invoice: 12 },
    );
    expect(await notified.promise).toMatchObject({ type: "App\\Notifications\\InvoicePaid", invoice: 12 });
  });

  it("relays end-to-end encrypted events that Echo.encryptedPrivate() decrypts", async () => {
    const masterKey = Buffer.from(nacl.randomBytes(32)).toString("base64");
    const backend = serverSdk(herald.port, DEMO_APP, { encryptionMasterKeyBase64: masterKey });
    const client = echo({ authorizer: backend });
    const received = nextCall<unknown>();
    const channel = client.encryptedPrivate("vault.3").listen(".secret", received.callback);
    await echoReady(channel);
    await backend.trigger("private-encrypted-vault.3", "secret", { code: "1234" });
    expect(await received.promise).toEqual({ code: "1234" });
  });

  it("gets a unique socket_id per connection, as Laravel's toOthers() relies on", async () => {
    const a = echo();
    const b = echo();
    const [idA, idB] = await Promise.all([connected(echoPusher(a)), connected(echoPusher(b))]);
    expect(idA).toMatch(/^\d+\.\d+$/);
    expect(idB).toMatch(/^\d+\.\d+$/);
    expect(idA).not.toBe(idB);
  });
});
