/** User sign-in: pusher:signin, #server-to-user channels, sendToUser, terminate_connections, required sign-in. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, connected, nextCall, pusherClient, serverSdk, signedIn, subscribed, caughtUp, type Pusher, type UserData } from "./helpers/clients.js";
import { hmacSha256Hex } from "../src/protocol/signatures.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./helpers/herald.js";

const STRICT_APP: AppConfig = { id: "strict", key: "strict-key", secret: "strict-secret", enableUserAuthentication: true, userAuthenticationTimeout: 1 };

let herald: Herald;
beforeAll(async () => {
  herald = await startHerald({ apps: [DEMO_APP, STRICT_APP] });
});
afterAll(() => herald.stop());

async function signedInClient(user: UserData, app = DEMO_APP): Promise<Pusher> {
  const client = pusherClient(herald.port, app, { signinAs: user });
  await signedIn(client);
  return client;
}

/** A raw socket and its socket_id, for frames pusher-js would not send. */
async function rawSocket(key = DEMO_APP.key): Promise<{ raw: RawClient; socketId: string }> {
  const raw = await RawClient.connect(herald.port, key);
  return { raw, socketId: await raw.socketId() };
}

function rawSignin(raw: RawClient, socketId: string, user: UserData, app = DEMO_APP): void {
  const { auth, user_data } = serverSdk(herald.port, app).authenticateUser(socketId, user);
  raw.send({ event: "pusher:signin", data: { auth, user_data } });
}

describe("user sign-in", () => {
  it("answers pusher:signin with signin_success carrying the signed user_data", async () => {
    const { raw, socketId } = await rawSocket();
    rawSignin(raw, socketId, { id: "ada", user_info: { name: "Ada" } });
    const success = await raw.event("pusher:signin_success");
    expect(JSON.parse(JSON.parse(success.data as string).user_data)).toEqual({ id: "ada", user_info: { name: "Ada" } });
    raw.close();
  });

  it("sends sendToUser events to every socket of that user, and to no one else", async () => {
    const tabOne = await signedInClient({ id: "u1" });
    const tabTwo = await signedInClient({ id: "u1" });
    const other = await signedInClient({ id: "u2" });
    const first = nextCall<unknown>();
    const second = nextCall<unknown>();
    const stray: unknown[] = [];
    tabOne.user.bind("order-shipped", first.callback);
    tabTwo.user.bind("order-shipped", second.callback);
    other.user.bind("order-shipped", (data: unknown) => stray.push(data));
    await serverSdk(herald.port, DEMO_APP).sendToUser("u1", "order-shipped", { order: 42 });
    expect(await first.promise).toEqual({ order: 42 });
    expect(await second.promise).toEqual({ order: 42 });
    await caughtUp(other);
    expect(stray).toEqual([]);
    for (const client of [tabOne, tabTwo, other]) client.disconnect();
  });

  it("closes the connection with 4009 on a bad signature", async () => {
    const { raw, socketId } = await rawSocket();
    const { user_data } = serverSdk(herald.port, DEMO_APP).authenticateUser(socketId, { id: "mallory" });
    raw.send({ event: "pusher:signin", data: { auth: `${DEMO_APP.key}:${"0".repeat(64)}`, user_data } });
    const error = await raw.event("pusher:error");
    expect(error.data).toMatchObject({ code: 4009 });
    expect((error.data as { message: string }).message).toContain("Invalid signature for pusher:signin");
    expect(await raw.closed()).toBe(4009);
  });

  it("closes the connection with 4009 when the signed user_data has no id", async () => {
    const { raw, socketId } = await rawSocket();
    const userData = JSON.stringify({ name: "no id" });
    // Signed by hand: the SDK refuses to sign user_data without an id.
    const signature = hmacSha256Hex(DEMO_APP.secret, `${socketId}::user::${userData}`);
    raw.send({ event: "pusher:signin", data: { auth: `${DEMO_APP.key}:${signature}`, user_data: userData } });
    expect(await raw.event("pusher:error")).toMatchObject({ data: { code: 4009, message: 'user_data has no "id" (a non-empty string).' } });
    expect(await raw.closed()).toBe(4009);
  });

  it("rejects a second sign-in as another user and keeps the first", async () => {
    const { raw, socketId } = await rawSocket();
    rawSignin(raw, socketId, { id: "first" });
    await raw.event("pusher:signin_success");
    rawSignin(raw, socketId, { id: "second" });
    const error = await raw.event("pusher:error");
    expect(error.data).toMatchObject({ code: 4300, message: "This connection is signed in as user first and cannot sign in as another user." });
    raw.send({ event: "pusher:subscribe", data: { channel: "#server-to-user-first", auth: "" } });
    await raw.event("pusher_internal:subscription_succeeded");
    raw.send({ event: "pusher:subscribe", data: { channel: "#server-to-user-second", auth: "" } });
    expect(await raw.event("pusher:subscription_error")).toMatchObject({ channel: "#server-to-user-second", data: { type: "AuthError", status: 401 } });
    raw.close();
  });

  it("lets only a socket signed in as the user subscribe to its #server-to-user channel", async () => {
    const { raw } = await rawSocket();
    raw.send({ event: "pusher:subscribe", data: { channel: "#server-to-user-u1", auth: "" } });
    const error = await raw.event("pusher:subscription_error");
    expect(error).toMatchObject({ channel: "#server-to-user-u1", data: { type: "AuthError", status: 401 } });
    expect((error.data as { error: string }).error).toContain("signed in (pusher:signin) as user u1");
    raw.send({ event: "pusher:subscribe", data: { channel: "#anything-else", auth: "" } });
    expect(await raw.event("pusher:subscription_error")).toMatchObject({ data: { type: "InvalidChannel", status: 400 } });
    raw.close();
  });

  it("joins presence channels without channel_data as the signed-in user, as pusher-js does", async () => {
    // No `user` option: the channel auth the SDK returns has no channel_data.
    const watcher = pusherClient(herald.port, DEMO_APP, { user: { user_id: "w", user_info: { name: "Watcher" } } });
    const members = await subscribed(watcher, "presence-signed") as { count: number };
    expect(members.count).toBe(1);
    const joined = nextCall<{ id: string; info: unknown }>();
    watcher.channel("presence-signed").bind("pusher:member_added", joined.callback);

    const signed = await signedInClient({ id: "grace", user_info: { name: "Grace" } });
    const channel = signed.subscribe("presence-signed") as unknown as { members: { me: { id: string }; count: number }; bind(event: string, callback: (data: unknown) => void): void };
    // Each socket hears of the join its own way, in no order between them (on worker threads, on different threads).
    const succeeded = nextCall<unknown>();
    channel.bind("pusher:subscription_succeeded", succeeded.callback);
    expect(await joined.promise).toEqual({ id: "grace", info: { name: "Grace" } });
    await succeeded.promise;
    expect(channel.members.me.id).toBe("grace");
    expect(channel.members.count).toBe(2);
    watcher.disconnect();
    signed.disconnect();
  });

  it("refuses a presence subscription without channel_data from a socket that has not signed in", async () => {
    const { raw, socketId } = await rawSocket();
    const { auth } = serverSdk(herald.port, DEMO_APP).authorizeChannel(socketId, "presence-x");
    raw.send({ event: "pusher:subscribe", data: { channel: "presence-x", auth } });
    const error = await raw.event("pusher:subscription_error");
    expect(error).toMatchObject({ data: { type: "AuthError", status: 401 } });
    expect((error.data as { error: string }).error).toContain("or a signed-in connection");
    raw.close();
  });
});

describe("terminate_connections", () => {
  it("closes every socket of the user with 4009 and leaves the others open", async () => {
    const tabOne = await signedInClient({ id: "banned" });
    const tabTwo = await signedInClient({ id: "banned" });
    const bystander = await signedInClient({ id: "bystander" });
    const anonymous = pusherClient(herald.port, DEMO_APP);
    await connected(anonymous);
    const closes = [nextCall<{ code: number }>(), nextCall<{ code: number }>()];
    tabOne.connection.bind("error", (error: { data?: { code: number } }) => closes[0]!.callback({ code: error.data?.code ?? 0 }));
    tabTwo.connection.bind("error", (error: { data?: { code: number } }) => closes[1]!.callback({ code: error.data?.code ?? 0 }));

    await serverSdk(herald.port, DEMO_APP).terminateUserConnections("banned");
    expect(await closes[0]!.promise).toEqual({ code: 4009 });
    expect(await closes[1]!.promise).toEqual({ code: 4009 });
    // 4009 is in pusher-js's "do not reconnect" range: it settles in "disconnected", which it leaves
    // only when told to connect (a retry would go through "unavailable" or "connecting").
    await expect.poll(() => [tabOne.connection.state, tabTwo.connection.state]).toEqual(["disconnected", "disconnected"]);
    expect(bystander.connection.state).toBe("connected");
    expect(anonymous.connection.state).toBe("connected");
    for (const client of [tabOne, tabTwo, bystander, anonymous]) client.disconnect();
  });

  it("answers {} when the user has no connections", async () => {
    const response = await serverSdk(herald.port, DEMO_APP).terminateUserConnections("nobody");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({});
  });
});

describe("requireUserAuthentication", () => {
  it("closes a connection that has not signed in within userAuthenticationTimeout with 4009", async () => {
    const { raw } = await rawSocket(STRICT_APP.key);
    const started = Date.now();
    const error = await raw.event("pusher:error", 4000);
    expect(error.data).toMatchObject({ code: 4009, message: "This app requires sign-in (pusher:signin) within 1 s of connecting." });
    expect(await raw.closed()).toBe(4009);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("keeps a connection that signed in in time", async () => {
    const client = await signedInClient({ id: "prompt" }, STRICT_APP);
    // The marker: a socket opened after it, which does not sign in, is closed after its deadline.
    const { raw: late } = await rawSocket(STRICT_APP.key);
    expect(await late.closed(4000)).toBe(4009);
    await caughtUp(client);
    expect(client.connection.state).toBe("connected");
    client.disconnect();
  });

  it("does not apply to apps that do not ask for it", async () => {
    const { raw } = await rawSocket();
    const { raw: strict } = await rawSocket(STRICT_APP.key);
    expect(await strict.closed(4000)).toBe(4009);
    await raw.caughtUp();
    expect(raw.closeCode).toBeUndefined();
    raw.close();
  });
});
