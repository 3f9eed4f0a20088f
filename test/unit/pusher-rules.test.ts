/**
 * The Pusher rules (subscribe, sign-in, client events) on a recording socket, with
 * no uWebSockets.js: the same code a WebSocket and an HTTP session go through.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/apps/app.js";
import { hmacSha256Hex } from "../../src/protocol/signatures.js";
import { checkSubscription, type SubscribeRequest } from "../../src/protocol/subscription-rules.js";
import { relayClientEvent } from "../../src/server/client-events.js";
import { signIn } from "../../src/server/signin.js";
import { subscribe, unsubscribe } from "../../src/server/subscriptions.js";
import { recordingSocket, ruleServices, type RecordingSocket, type RuleServices } from "../helpers/rule-services.js";

const APP = { id: "a", key: "a-key", secret: "a-secret", enableClientMessages: true, maxClientEventsPerSecond: 2, maxPresenceMemberSizeInKb: 1 };
const QUIET = { id: "q", key: "q-key", secret: "q-secret" };

const sign = (app: { key: string; secret: string }, message: string) => `${app.key}:${hmacSha256Hex(app.secret, message)}`;
const request = (channel: string, auth = "", channelData?: string): SubscribeRequest => ({ kind: "subscribe", channel, auth, channelData });

describe("checkSubscription (pure)", () => {
  const app = { ...APP, maxChannelNameLength: 200 };
  const user = { id: "ada", info: { name: "Ada" }, watchlist: [] };

  it.each([
    ["a public channel", request("news"), undefined, { ok: true, kind: "public" }],
    ["a bad name", request("has space"), undefined, { ok: false, refusal: { type: "InvalidChannel", status: 400 } }],
    ["a reserved # name", request("#internal"), undefined, { ok: false, refusal: { type: "InvalidChannel", status: 400 } }],
    ["someone else's #server-to-user channel", request("#server-to-user-bob"), user, { ok: false, refusal: { type: "AuthError", status: 401 } }],
    ["its own #server-to-user channel", request("#server-to-user-ada"), user, { ok: true, kind: "server-to-user" }],
    ["a private channel without auth", request("private-x"), undefined, { ok: false, refusal: { type: "AuthError", status: 401 } }],
    ["a private channel signed over socket_id:channel", request("private-x", sign(app, "1.1:private-x")), undefined, { ok: true, kind: "private" }],
    ["a private channel signed with channel_data", request("private-x", sign(app, '1.1:private-x:{"user_id":"1"}'), '{"user_id":"1"}'), undefined, { ok: true, kind: "private" }],
    ["an encrypted channel", request("private-encrypted-x", sign(app, "1.1:private-encrypted-x")), undefined, { ok: true, kind: "encrypted" }],
    ["presence without channel_data, not signed in", request("presence-r", sign(app, "1.1:presence-r")), undefined, { ok: false, refusal: { type: "AuthError", status: 401 } }],
    ["presence without channel_data, signed in", request("presence-r", sign(app, "1.1:presence-r")), user, { ok: true, kind: "presence", member: { userId: "ada", userInfo: { name: "Ada" } } }],
    ["presence with channel_data", request("presence-r", sign(app, '1.1:presence-r:{"user_id":7}'), '{"user_id":7}'), undefined, { ok: true, kind: "presence", member: { userId: "7" } }],
    ["presence channel_data that is not an object", request("presence-r", sign(app, "1.1:presence-r:[1]"), "[1]"), undefined, { ok: false, refusal: { type: "InvalidChannelData", status: 400 } }],
    [
      "presence user_info over the limit",
      request("presence-r", sign(app, `1.1:presence-r:${JSON.stringify({ user_id: "1", user_info: "x".repeat(1100) })}`), JSON.stringify({ user_id: "1", user_info: "x".repeat(1100) })),
      undefined,
      { ok: false, refusal: { type: "LimitReached", status: 413 } },
    ],
  ])("answers %s", (_, subscribeRequest, signedIn, expected) => {
    expect(checkSubscription(app, "1.1", signedIn, subscribeRequest)).toMatchObject(expected);
  });
});

describe("the rules on a socket", () => {
  let ctx: RuleServices;
  let published: Awaited<ReturnType<typeof ruleServices>>["published"];
  let app: App;
  let quiet: App;
  beforeAll(async () => {
    const context = await ruleServices([APP, QUIET]);
    ({ services: ctx, published } = context);
    app = context.app("a");
    quiet = context.app("q");
  });
  const events = (socket: RecordingSocket, name: string) => socket.sent.filter((frame) => frame.event === name);

  it("subscribes once, answers a repeated subscribe again, and unsubscribes", () => {
    const socket = recordingSocket(app);
    subscribe(ctx, socket, app, request("news"));
    subscribe(ctx, socket, app, request("news"));
    expect(events(socket, "pusher_internal:subscription_succeeded")).toHaveLength(2);
    expect(socket.topics.size).toBe(1);
    expect(ctx.channels.forApp(app.id).subscriptionCount("news")).toBe(1);
    unsubscribe(ctx, socket, app, "news");
    expect(socket.topics.size).toBe(0);
    expect(ctx.channels.forApp(app.id).subscriptionCount("news")).toBe(0);
  });

  it("refuses with a subscription_error and joins nothing", () => {
    const socket = recordingSocket(app);
    subscribe(ctx, socket, app, request("private-x", "a-key:bad"));
    expect(events(socket, "pusher:subscription_error")).toEqual([{ event: "pusher:subscription_error", channel: "private-x", data: expect.objectContaining({ type: "AuthError", status: 401 }) }]);
    expect(socket.topics.size).toBe(0);
  });

  it("announces a presence member once, whatever its sockets, to the others only", () => {
    const first = recordingSocket(app);
    const second = recordingSocket(app);
    const data = '{"user_id":"ada","user_info":{"name":"Ada"}}';
    const before = published.length;
    for (const socket of [first, second]) subscribe(ctx, socket, app, request("presence-room", sign(app, `${socket.getUserData().socketId}:presence-room:${data}`), data));
    const added = published.slice(before).filter((message) => message.frame.includes("member_added"));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ channel: "presence-room", exceptSocketId: first.getUserData().socketId });
    expect(ctx.channels.forApp(app.id).presenceSnapshot("presence-room").count).toBe(1);
  });

  it("relays a client event to the others of a private channel, with every rule", () => {
    const sender = recordingSocket(app);
    subscribe(ctx, sender, app, request("private-chat", sign(app, `${sender.getUserData().socketId}:private-chat`)));
    const before = published.length;
    relayClientEvent(ctx, sender, app, { kind: "client-event", event: "client-typing", channel: "private-chat", data: { who: "me" } }, 100);
    expect(published.slice(before)).toEqual([expect.objectContaining({ channel: "private-chat", exceptSocketId: sender.getUserData().socketId })]);

    relayClientEvent(ctx, sender, app, { kind: "client-event", event: "client-typing", channel: "private-other", data: {} }, 100);
    relayClientEvent(ctx, sender, app, { kind: "client-event", event: "client-typing", channel: "private-chat", data: {} }, 100);
    relayClientEvent(ctx, sender, app, { kind: "client-event", event: "client-typing", channel: "private-chat", data: {} }, 100);
    const errors = events(sender, "pusher:error").map((frame) => (frame.data as { code: number }).code);
    // Not subscribed to private-other (4300); then over 2 per second (4301).
    expect(errors).toEqual([4300, 4301]);

    const elsewhere = recordingSocket(quiet);
    relayClientEvent(ctx, elsewhere, quiet, { kind: "client-event", event: "client-x", channel: "private-chat", data: {} }, 100);
    expect(events(elsewhere, "pusher:error")[0]).toMatchObject({ data: { code: 4300, message: expect.stringContaining("disabled") } });
  });

  it("closes a socket whose sign-in signature is wrong with 4009, after saying why", () => {
    const socket = recordingSocket(app);
    signIn(ctx, socket, app, { kind: "signin", auth: "a-key:bad", userData: '{"id":"ada"}' });
    expect(events(socket, "pusher:error")[0]).toMatchObject({ data: { code: 4009 } });
    expect(socket.closed).toEqual({ code: 4009, reason: "Sign-in failed" });
  });
});
