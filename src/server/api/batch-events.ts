/** `POST /apps/{app_id}/batch_events`: up to maxEventBatchSize events, all checked before any is sent. */
import { readEvent, type TriggeredEvent } from "../../protocol/http-events.js";
import { publishEvent } from "./publish.js";
import type { PublishingServices } from "./events.js";
import { backendEventsAllowed } from "./backend-events-limit.js";
import { channelCounts } from "./channel-counts.js";
import { badRequest, ok, parseJsonBody, type Endpoint } from "./signed-endpoint.js";

export const triggerBatch = (ctx: PublishingServices): Endpoint => ({ app, body, nowSecond }) => {
  const json = parseJsonBody(body);
  if (!json.ok) return json.response;
  const batch = (json.value as { batch?: unknown } | null)?.batch;
  if (!Array.isArray(batch)) return badRequest("The body must be {\"batch\": [ ...events ]}.");
  if (batch.length > app.maxEventBatchSize) {
    return badRequest(`The batch has ${batch.length} events; this app allows ${app.maxEventBatchSize}.`);
  }
  const events: TriggeredEvent[] = [];
  for (const [index, raw] of batch.entries()) {
    const checked = readEvent(raw, app, `batch[${index}]: `);
    if (!checked.ok) return { status: checked.status, body: { error: checked.message } };
    events.push(checked.event);
  }
  const limited = backendEventsAllowed(ctx, app, events.length, nowSecond);
  if (limited) return limited;
  let deciding: Array<Promise<unknown>> | undefined;
  for (const event of events) {
    const decision = publishEvent(ctx, app, event);
    if (decision) (deciding ??= []).push(decision);
  }
  const answer = () => {
    if (events.every((event) => event.info.size === 0)) return ok();
    // One entry per event, in order; a batch event names one channel.
    return Promise.all(events.map((event) => channelCounts(ctx, app, event.channels[0]!, event.info))).then((batchCounts) => ok({ batch: batchCounts }));
  };
  return deciding ? Promise.all(deciding).then(answer) : answer();
};
