/**
 * Auth endpoints as they are written in the wild: pusher-js's own integration
 * server signs every channel the presence way (`authorizeChannel(socket, channel,
 * {user_id, user_info})`) and returns channel_data for private channels too; user
 * ids are whatever the backend's users are called. Herald accepts what Pusher's
 * service accepts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import nacl from "tweetnacl";
import type Echo from "laravel-echo";
import { hmacSha256Hex } from "../src/protocol/signatures.js";
import { RawClient, connected, echoClient, nextCall, pusherClient, serverSdk, signedIn, subscribed, type Pusher, echoReady } from "./helpers/clients.js";
import { DEMO_APP, startHerald, type Herald } from "./helpers/herald.js";

let herald: Herald;
const open: Array<{ disconnect(): void }> = [];

beforeAll(async () => {
  herald = await startHerald();
});
afterAll(() => herald.stop());
afterEach(() => {
  for (const client of open.splice(0)) client.disconnect();
});

/** A pusher-js client whose auth endpoint signs every channel with channel_data, as pusher-js's integration server does. */
async function signingEverything(name: string): Promise<Pusher> {
  const client = pusherClient(herald.port, DEMO_APP, { channelDataOnEveryChannel: true, user: { user_id: name, user_info: { name } } });
  open.push(client);
  await connected(client);
  return client;
}

function echoSigningEverything(name: string, authorizer = serverSdk(herald.port, DEMO_APP)): Echo<"pusher"> {
  const echo = echoClient(herald.port, DEMO_APP, { channelDataOnEveryChannel: true, user: { user_id: name, user_info: { name } }, authorizer });
  open.push(echo);
  return echo;
}


describe("private channels signed with channel_data", () => {
  it("subscribe pusher-js, deliver SDK events and pass client events between two such clients", async () => {
    const alice = await signingEverything("alice");
    const bob = await signingEverything("bob");
    await Promise.all([subscribed(alice, "private-integration"), subscribed(bob, "private-integration")]);

    const event = nextCall<unknown>();
    alice.channel("private-integration").bind("integration_event", event.callback);
    await serverSdk(herald.port, DEMO_APP).trigger("private-integration", "integration_event", { x: 1, y: "z" });
    expect(await event.promise).toEqual({ x: 1, y: "z" });

    const whisper = nextCall<unknown>();
    bob.channel("private-integration").bind("client-test", whisper.callback);
    alice.send_event("client-test", { foo: "bar" }, "private-integration");
    expect(await whisper.promise).toEqual({ foo: "bar" });
  });

  it("keep presence working the same way, with the member's info", async () => {
    const client = await signingEverything("carol");
    const members = (await subscribed(client, "presence-integration")) as { me: unknown; count: number };
    expect(members.me).toEqual({ id: "carol", info: { name: "carol" } });
    expect(members.count).toBe(1);
  });

  it("work through Echo.private(): listen and whisper", async () => {
    const dave = echoSigningEverything("dave");
    const erin = echoSigningEverything("erin");
    const daveChannel = dave.private("orders.7");
    const erinChannel = erin.private("orders.7");
    await Promise.all([echoReady(daveChannel), echoReady(erinChannel)]);

    const shipped = nextCall<unknown>();
    daveChannel.listen("OrderShipped", shipped.callback);
    await serverSdk(herald.port, DEMO_APP).trigger("private-orders.7", "App\\Events\\OrderShipped", { order: 7 });
    expect(await shipped.promise).toEqual({ order: 7 });

    const typing = nextCall<unknown>();
    erinChannel.listenForWhisper("typing", typing.callback);
    daveChannel.whisper("typing", { name: "dave" });
    expect(await typing.promise).toEqual({ name: "dave" });
  });

  it("work for private-encrypted- channels through Echo.encryptedPrivate() and pusher-js", async () => {
    const masterKey = Buffer.from(nacl.randomBytes(32)).toString("base64");
    const backend = serverSdk(herald.port, DEMO_APP, { encryptionMasterKeyBase64: masterKey });
    const echo = echoSigningEverything("frank", backend);
    const received = nextCall<unknown>();
    const channel = echo.encryptedPrivate("vault.9").listen(".secret", received.callback);
    await echoReady(channel);

    const client = pusherClient(herald.port, DEMO_APP, { channelDataOnEveryChannel: true, user: { user_id: "grace" }, authorizer: backend });
    open.push(client);
    await subscribed(client, "private-encrypted-vault.9");
    const alsoReceived = nextCall<unknown>();
    client.channel("private-encrypted-vault.9").bind("secret", alsoReceived.callback);

    await backend.trigger("private-encrypted-vault.9", "secret", { code: "1234" });
    expect(await received.promise).toEqual({ code: "1234" });
    expect(await alsoReceived.promise).toEqual({ code: "1234" });
  });
});

describe("what a private subscription's signature may cover", () => {
  let raw: RawClient;
  let socketId: string;
  beforeAll(async () => {
    raw = await RawClient.connect(herald.port, DEMO_APP.key);
    socketId = await raw.socketId();
  });
  afterAll(() => raw.close());

  const sign = (message: string) => `${DEMO_APP.key}:${hmacSha256Hex(DEMO_APP.secret, message)}`;
  const channelData = JSON.stringify({ user_id: "1", user_info: { name: "Ada" } });

  it.each([
    ["socket_id:channel:channel_data, with that channel_data", "private-a", () => sign(`${socketId}:private-a:${channelData}`), channelData],
    ["socket_id:channel, with channel_data sent as well", "private-b", () => sign(`${socketId}:private-b`), channelData],
    ["socket_id:channel:channel_data on an encrypted channel", "private-encrypted-c", () => sign(`${socketId}:private-encrypted-c:${channelData}`), channelData],
  ])("accepts a signature over %s", async (_, channel, auth, data) => {
    raw.send({ event: "pusher:subscribe", data: { channel, auth: auth(), channel_data: data } });
    expect(await raw.event("pusher_internal:subscription_succeeded")).toMatchObject({ channel });
  });

  it.each([
    ["other channel_data than the one sent", () => sign(`${socketId}:private-x:${JSON.stringify({ user_id: "2" })}`), channelData],
    ["channel_data that was not sent", () => sign(`${socketId}:private-x:${channelData}`), undefined],
    ["another socket's id with channel_data", () => sign(`1.1:private-x:${channelData}`), channelData],
    ["another channel with channel_data", () => sign(`${socketId}:private-y:${channelData}`), channelData],
    ["channel_data signed with another secret", () => `${DEMO_APP.key}:${hmacSha256Hex("not-the-secret", `${socketId}:private-x:${channelData}`)}`, channelData],
  ])("refuses a signature over %s with a 401 subscription_error", async (_, auth, data) => {
    raw.send({ event: "pusher:subscribe", data: { channel: "private-x", auth: auth(), channel_data: data } });
    const error = await raw.event("pusher:subscription_error");
    expect(error).toMatchObject({ channel: "private-x", data: { type: "AuthError", status: 401, error: expect.stringContaining("channel_data") } });
  });

  it("still holds presence to the exact channel_data it was signed over", async () => {
    raw.send({ event: "pusher:subscribe", data: { channel: "presence-p", auth: sign(`${socketId}:presence-p`), channel_data: channelData } });
    expect(await raw.event("pusher:subscription_error")).toMatchObject({ channel: "presence-p", data: { status: 401 } });
  });
});

describe("user ids the SDKs allow", () => {
  // pusher-js subscribes to #server-to-user-{id}; the SDKs accept any non-empty id.
  it.each(["ada+tag@example.com", "Ada Lovelace", "ą§¶™€łü€ß£", "team:42"])("signs in %j, receives sendToUser and is terminated", async (id) => {
    const client = pusherClient(herald.port, DEMO_APP, { signinAs: { id } });
    open.push(client);
    await signedIn(client);
    const sdk = serverSdk(herald.port, DEMO_APP);
    const notice = nextCall<unknown>();
    client.user.bind("notice", notice.callback);
    await sdk.sendToUser(id, "notice", { for: id });
    expect(await notice.promise).toEqual({ for: id });

    const closed = nextCall<number | undefined>();
    client.connection.bind("error", (error: { data?: { code: number } }) => closed.callback(error.data?.code));
    const answer = await sdk.terminateUserConnections(id);
    expect(answer.status).toBe(200);
    expect(await closed.promise).toBe(4009);
  });

  it("reads numbers in a watchlist as user ids, as a Laravel backend's pluck('id') signs them", async () => {
    const watched = pusherClient(herald.port, DEMO_APP, { signinAs: { id: "501" } });
    open.push(watched);
    await signedIn(watched);
    const watcher = pusherClient(herald.port, DEMO_APP, { signinAs: { id: "500", watchlist: [501, 502] as unknown as string[] } });
    open.push(watcher);
    const online = nextCall<{ user_ids: string[] }>();
    watcher.user.watchlist.bind("online", online.callback);
    await signedIn(watcher);
    expect(await online.promise).toEqual({ name: "online", user_ids: ["501"] });
  });

  it("refuses #server-to-user- names with no user id or with control characters", async () => {
    const raw = await RawClient.connect(herald.port, DEMO_APP.key);
    for (const channel of ["#server-to-user-", "#server-to-user-a\nb"]) {
      raw.send({ event: "pusher:subscribe", data: { channel, auth: "" } });
      expect(await raw.event("pusher:subscription_error")).toMatchObject({ channel, data: { type: "InvalidChannel", status: 400 } });
    }
    raw.close();
  });
});
