/**
 * Whether a `pusher:subscribe` may join its channel: the name, who may join a
 * `#server-to-user-` channel, the signature, and the presence member it names.
 * Pure: the same answer for a WebSocket and an HTTP-transport session, and the
 * server only acts on it.
 */
import { channelKind, channelNameProblem, requiresAuth, SERVER_TO_USER_PREFIX, type ChannelKind } from "./channel-names.js";
import { parseChannelData, type ClientFrame, type PresenceMember } from "./client-frames.js";
import { verifyChannelAuth, verifyPrivateChannelAuth } from "./signatures.js";
import type { SignedInUser } from "./user-data.js";

export type SubscribeRequest = Extract<ClientFrame, { kind: "subscribe" }>;

/** What `pusher:subscription_error` carries: pusher-js hands `type`, `error` and `status` to the page. */
export interface SubscriptionRefusal {
  readonly type: "InvalidChannel" | "AuthError" | "InvalidChannelData" | "LimitReached";
  readonly error: string;
  readonly status: 400 | 401 | 403 | 413;
}

export type SubscriptionCheck =
  | { ok: true; kind: Exclude<ChannelKind, "presence"> }
  | { ok: true; kind: "presence"; member: PresenceMember }
  | { ok: false; refusal: SubscriptionRefusal };

/** The limits of an app a subscription is held to, and the credentials its signature is checked with. */
export interface SubscriptionApp {
  readonly key: string;
  readonly secret: string;
  readonly maxChannelNameLength: number;
  readonly maxPresenceMemberSizeInKb: number;
}

const refuse = (type: SubscriptionRefusal["type"], error: string, status: SubscriptionRefusal["status"]): SubscriptionCheck => ({ ok: false, refusal: { type, error, status } });

export function checkSubscription(app: SubscriptionApp, socketId: string, user: SignedInUser | undefined, request: SubscribeRequest): SubscriptionCheck {
  const { channel } = request;
  const nameProblem = channelNameProblem(channel, app.maxChannelNameLength);
  if (nameProblem) return refuse("InvalidChannel", nameProblem, 400);
  const kind = channelKind(channel);
  if (kind === "server-to-user") {
    if (!user || channel !== SERVER_TO_USER_PREFIX + user.id) {
      return refuse("AuthError", `Only a connection signed in (pusher:signin) as user ${channel.slice(SERVER_TO_USER_PREFIX.length)} can subscribe to ${channel}.`, 401);
    }
    return { ok: true, kind };
  }
  if (channel.startsWith("#")) return refuse("InvalidChannel", "Channel names starting with # are reserved for the server.", 400);
  if (!requiresAuth(kind)) return { ok: true, kind: kind as "public" };

  // pusher-js leaves out channel_data on presence channels once the socket has signed in.
  const channelData = request.channelData;
  if (kind === "presence" && channelData === undefined && !user) {
    return refuse("AuthError", "A presence subscription needs channel_data, the JSON string your auth endpoint returned, or a signed-in connection.", 401);
  }
  const signed = kind === "presence"
    ? verifyChannelAuth(request.auth, app, socketId, channel, channelData)
    : verifyPrivateChannelAuth(request.auth, app, socketId, channel, channelData);
  if (!signed) {
    return refuse(
      "AuthError",
      `Invalid signature for ${channel}: the auth must be "<app key>:<HMAC-SHA256 of socket_id:channel, or socket_id:channel:channel_data when channel_data is sent>" signed with this app's secret.`,
      401,
    );
  }
  if (kind !== "presence") return { ok: true, kind: kind as "private" | "encrypted" };

  // A signed-in socket joins as its user, with the user_info it signed in with.
  const member = channelData !== undefined ? parseChannelData(channelData) : { ok: true as const, member: { userId: user!.id, userInfo: user!.info } };
  if (!member.ok) return refuse("InvalidChannelData", member.message, 400);
  const infoBytes = Buffer.byteLength(JSON.stringify(member.member.userInfo ?? null));
  if (infoBytes > app.maxPresenceMemberSizeInKb * 1024) {
    return refuse("LimitReached", `user_info is ${infoBytes} bytes; this app allows ${app.maxPresenceMemberSizeInKb} KB per member.`, 413);
  }
  return { ok: true, kind, member: member.member };
}
