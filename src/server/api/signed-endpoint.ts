/**
 * The shared front of every `/apps/{app_id}/...` endpoint: find the app, read the
 * body within its limit, check the request signature, then hand a plain request
 * to the endpoint and write its answer. Endpoints never see unsigned requests.
 */
import type { App } from "../../apps/app.js";
import { ClusterStateUnavailable } from "../../cluster/errors.js";
import { parseQuery, verifyRequestSignature } from "../../protocol/request-signature.js";
import { EMPTY_JSON_BODY, readBody, sendError, sendJson, watchAbort, type ResponseState } from "../http-io.js";
import type { AppRegistry } from "../../apps/app-registry.js";
import type { AppRateLimits } from "../../apps/rate-window.js";
import type { ConsoleTap } from "../../console/tap.js";
import type { Logger } from "../../logger.js";
import type { NodeCounters } from "../../metrics/counters.js";
import type { HttpRequest, HttpResponse } from "../uws.js";

export interface ApiRequest {
  readonly app: App;
  /** The whole second the request is handled in, for per-second allowances. */
  readonly nowSecond: number;
  readonly query: QueryLookup;
  /** Decoded path parameters after the app id, e.g. the channel name. */
  readonly params: readonly string[];
  readonly body: string;
}

/** What endpoints read of the query (a Map will do where there is no request). */
export interface QueryLookup {
  get(key: string): string | undefined;
}

export interface ApiResponse {
  readonly status: 200 | 400 | 404 | 413 | 429 | 503;
  readonly body: object;
  /** Sent as Retry-After with a 429. */
  readonly retryAfterSeconds?: number;
}

/** Endpoints that read cluster state answer later; the others at once. */
export type Endpoint = (request: ApiRequest) => ApiResponse | Promise<ApiResponse>;

/** What the shared front of the API uses; each endpoint gets its own services when the routes are built. */
export interface SignedEndpointServices {
  readonly apps: AppRegistry;
  readonly counters: NodeCounters;
  readonly rateLimits: AppRateLimits;
  readonly tap: ConsoleTap;
  readonly log: Logger;
}

export const ok = (body: object = EMPTY_JSON_BODY): ApiResponse => ({ status: 200, body });
export const badRequest = (error: string): ApiResponse => ({ status: 400, body: { error } });
/** Per-second allowances reset with the next second, so one second is always long enough to wait. */
export const tooManyRequests = (error: string): ApiResponse => ({ status: 429, body: { error }, retryAfterSeconds: 1 });

/**
 * Bodies are capped per app: room for a full batch of events at the app's payload
 * limit (doubled, since JSON escaping can double a string) plus their envelopes,
 * and never more than the server's --max-body-kb.
 */
export function bodyLimitBytes(app: App, serverLimit: number): number {
  return Math.min(serverLimit, 64 * 1024 + 2 * app.maxEventBatchSize * app.maxEventPayloadInKb * 1024);
}

/** An HTTP API route: `path` follows `/apps/:appId`; `params` counts its own `:name` parts. */
export interface Route {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly params: number;
  readonly endpoint: Endpoint;
  /** Publishes events: its time to fan-out is the publish latency. */
  readonly publishes?: boolean;
}

const NO_PARAMS: readonly string[] = [];
const NO_BODY = Buffer.alloc(0);

/**
 * `mount` is the path the API is served under ("" or the path prefix); signatures
 * cover the path after it. `maxBodyBytes` is the server-wide cap (--max-body-kb).
 */
export function signedEndpoint(ctx: SignedEndpointServices, route: Route, mount: string, maxBodyBytes: number) {
  const { method, params: paramCount, endpoint } = route;
  const hasBody = method === "POST";
  return (res: HttpResponse, req: HttpRequest): void => {
    const arrivedAt = performance.now();
    // uWS request objects live only until this function returns: read everything now.
    const state = watchAbort(res);
    const path = req.getUrl().slice(mount.length);
    const query = parseQuery(req.getQuery() ?? "");
    const appId = decodeParam(req.getParameter(0));
    let params = NO_PARAMS;
    if (paramCount > 0) {
      const decoded: string[] = [];
      for (let i = 1; i <= paramCount; i++) decoded.push(decodeParam(req.getParameter(i)) ?? "");
      params = decoded;
    }

    const app = appId === null ? undefined : ctx.apps.byId(appId);
    if (!app) return refuse(ctx, route, res, state, 404, `No app has the id "${(appId ?? "").slice(0, 100)}".`, hasBody);
    if (!app.enabled) return refuse(ctx, route, res, state, 403, `The app ${app.id} is disabled.`, hasBody);

    // Runs inside uWS's data callback: `body` is only valid until it returns.
    const handle = (body: Buffer): void => {
      const now = Date.now() / 1000;
      const signature = verifyRequestSignature({ method, path, query, body }, app, now);
      if (!signature.ok) return refuse(ctx, route, res, state, 401, signature.message);
      const nowSecond = Math.floor(now);
      ctx.counters.of(app.id).apiRequests += 1;
      // Reads are counted here, once signed, so unsigned requests cannot use up an app's allowance.
      const readLimit = app.maxReadRequestsPerSecond;
      if (!hasBody && readLimit >= 0 && !ctx.rateLimits.of(app.id).reads.tryTake(1, readLimit, nowSecond)) {
        ctx.counters.of(app.id).rateLimited.api_reads += 1;
        const message = `This app allows ${app.maxReadRequestsPerSecond} read requests per second.`;
        if (ctx.tap.watching(app.id)) ctx.tap.emit(app.id, { type: "rate_limited", status: 429, detail: message });
        return respond(ctx, route, res, state, tooManyRequests(message));
      }
      let response: ApiResponse | Promise<ApiResponse>;
      try {
        response = endpoint({ app, nowSecond, query: query.params, params, body: body.toString("utf8") });
      } catch (error) {
        return failed(ctx, route, res, state, path, error);
      }
      // Publishing happens before an endpoint returns; only counts for `info` come later.
      if (route.publishes && (response instanceof Promise || response.status === 200)) {
        ctx.counters.publishLatency.observe((performance.now() - arrivedAt) / 1000);
      }
      // Only endpoints that read cluster state answer later; the others are sent at once.
      if (response instanceof Promise) response.then((later) => respond(ctx, route, res, state, later), (error: unknown) => failed(ctx, route, res, state, path, error));
      else respond(ctx, route, res, state, response);
    };
    if (!hasBody) return handle(NO_BODY);
    const limit = bodyLimitBytes(app, maxBodyBytes);
    readBody(res, limit, handle, () => refuse(ctx, route, res, state, 413, `The request body is larger than the ${limit} bytes this app accepts.`, true));
  };
}

function respond(ctx: SignedEndpointServices, route: Route, res: HttpResponse, state: ResponseState, response: ApiResponse): void {
  ctx.counters.httpAnswered(route.path, response.status);
  if (response.status >= 400) logRefusal(ctx, route, response.status, response.body);
  sendJson(res, state, response.status, response.body, false, response.retryAfterSeconds);
}

function refuse(ctx: SignedEndpointServices, route: Route, res: HttpResponse, state: ResponseState, status: number, error: string, closeConnection = false): void {
  ctx.counters.httpAnswered(route.path, status);
  logRefusal(ctx, route, status, { error });
  sendError(res, state, status, error, closeConnection);
}

/** At debug: a client's mistake is the client's to see (in the answer), and at info it could flood the log. */
function logRefusal(ctx: SignedEndpointServices, route: Route, status: number, body: object): void {
  if (ctx.log.isLevelEnabled("debug")) ctx.log.debug({ endpoint: route.path, status, ...body }, "HTTP API request refused");
}

function failed(ctx: SignedEndpointServices, route: Route, res: HttpResponse, state: ResponseState, path: string, error: unknown): void {
  if (error instanceof ClusterStateUnavailable) return refuse(ctx, route, res, state, 503, error.message);
  ctx.log.error({ err: error, path }, "HTTP API endpoint failed");
  ctx.counters.httpAnswered(route.path, 500);
  sendError(res, state, 500, "The server failed to process the request.");
}

function decodeParam(raw: string | undefined): string | null {
  if (raw === undefined) return "";
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** Parses a JSON body, or says why it is not one. */
export function parseJsonBody(body: string): { ok: true; value: unknown } | { ok: false; response: ApiResponse } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false, response: badRequest("The body is not valid JSON.") };
  }
}
