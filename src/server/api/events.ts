/**
 * `POST /apps/{app_id}/events`: one event to up to maxEventChannelsAtOnce channels.
 * With `info`, the answer carries the channels' counts after publishing.
 */
import { readEvent } from "../../protocol/http-events.js";
import { publishEvent } from "./publish.js";
import { backendEventsAllowed } from "./backend-events-limit.js";
import { channelCounts } from "./channel-counts.js";
import type { App } from "../../apps/app.js";
import type { NodeContext } from "../node-context.js";
import { ok, parseJsonBody, type ApiResponse, type Endpoint } from "./signed-endpoint.js";

export const triggerEvent: Endpoint = ({ app, body, nowSecond }, ctx) => {
  const json = parseJsonBody(body);
  if (!json.ok) return json.response;
  const checked = readEvent(json.value, app);
  if (!checked.ok) return { status: checked.status, body: { error: checked.message } };
  const limited = backendEventsAllowed(ctx, app, 1, nowSecond);
  if (limited) return limited;
  publishEvent(ctx, app, checked.event);
  const { info, channels } = checked.event;
  if (info.size === 0) return ok();
  return countsOf(ctx, app, channels, info);
};

async function countsOf(ctx: NodeContext, app: App, channels: readonly string[], info: ReadonlySet<string>): Promise<ApiResponse> {
  const counts = await Promise.all(channels.map((channel) => channelCounts(ctx, app, channel, info)));
  return ok({ channels: Object.fromEntries(channels.map((channel, index) => [channel, counts[index]])) });
}
