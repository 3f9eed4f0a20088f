/**
 * `POST /apps/{app_id}/events`: one event to up to maxEventChannelsAtOnce channels.
 * With `info`, the answer carries the channels' counts after publishing.
 */
import { readEvent, type TriggeredEvent } from "../../protocol/http-events.js";
import { publishEvent, type PublishServices } from "./publish.js";
import { backendEventsAllowed, type RateLimitServices } from "./backend-events-limit.js";
import { channelCounts, type CountServices } from "./channel-counts.js";
import type { App } from "../../apps/app.js";
import { ok, parseJsonBody, type ApiResponse, type Endpoint } from "./signed-endpoint.js";

/** What publishing endpoints use: the publish itself, the allowance, and counts for `info`. */
export type PublishingServices = PublishServices & RateLimitServices & CountServices;

export const triggerEvent = (ctx: PublishingServices): Endpoint => ({ app, body, nowSecond }) => {
  const json = parseJsonBody(body);
  if (!json.ok) return json.response;
  const checked = readEvent(json.value, app);
  if (!checked.ok) return { status: checked.status, body: { error: checked.message } };
  const limited = backendEventsAllowed(ctx, app, 1, nowSecond);
  if (limited) return limited;
  const deciding = publishEvent(ctx, app, checked.event);
  if (deciding) return deciding.then(() => answer(ctx, app, checked.event));
  return answer(ctx, app, checked.event);
};

function answer(ctx: CountServices, app: App, { info, channels }: TriggeredEvent): ApiResponse | Promise<ApiResponse> {
  return info.size === 0 ? ok() : countsOf(ctx, app, channels, info);
}

async function countsOf(ctx: CountServices, app: App, channels: readonly string[], info: ReadonlySet<string>): Promise<ApiResponse> {
  const counts = await Promise.all(channels.map((channel) => channelCounts(ctx, app, channel, info)));
  return ok({ channels: Object.fromEntries(channels.map((channel, index) => [channel, counts[index]])) });
}
