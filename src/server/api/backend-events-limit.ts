import type { App } from "../../apps/app.js";
import type { AppRateLimits } from "../../apps/rate-window.js";
import type { ConsoleTap } from "../../console/tap.js";
import type { NodeCounters } from "../../metrics/counters.js";
import { tooManyRequests, type ApiResponse } from "./signed-endpoint.js";

/** What the per-app allowances of the HTTP API use. */
export interface RateLimitServices {
  readonly rateLimits: AppRateLimits;
  readonly counters: NodeCounters;
  readonly tap: ConsoleTap;
}

/**
 * Takes `events` from the app's maxBackendEventsPerSecond allowance, or returns
 * the 429 to answer with. A batch counts each of its events.
 */
export function backendEventsAllowed(ctx: RateLimitServices, app: App, events: number, nowSecond: number): ApiResponse | undefined {
  const limit = app.maxBackendEventsPerSecond;
  if (limit < 0 || ctx.rateLimits.of(app.id).backendEvents.tryTake(events, limit, nowSecond)) return undefined;
  ctx.counters.of(app.id).rateLimited.backend_events += events;
  const message = `This app allows ${app.maxBackendEventsPerSecond} events per second through the HTTP API.`;
  if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "rate_limited", status: 429, detail: message });
  return tooManyRequests(message);
}
