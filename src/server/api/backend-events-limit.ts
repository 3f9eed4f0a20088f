import type { App } from "../../apps/app.js";
import type { NodeContext } from "../node-context.js";
import { tooManyRequests, type ApiResponse } from "./signed-endpoint.js";

/**
 * Takes `events` from the app's maxBackendEventsPerSecond allowance, or returns
 * the 429 to answer with. A batch counts each of its events.
 */
export function backendEventsAllowed(ctx: NodeContext, app: App, events: number, nowSecond: number): ApiResponse | undefined {
  const limit = app.maxBackendEventsPerSecond;
  if (limit < 0 || ctx.rateLimits.of(app.id).backendEvents.tryTake(events, limit, nowSecond)) return undefined;
  ctx.counters.of(app.id).rateLimited.backend_events += events;
  return tooManyRequests(`This app allows ${app.maxBackendEventsPerSecond} events per second through the HTTP API.`);
}
