/**
 * `GET /health` (liveness: the process answers) and `GET /ready` (whether a load
 * balancer should send clients here: not while draining, not while cut off from
 * the cluster's Redis).
 */
import type { NodeContext } from "../node-context.js";
import { sendJson, watchAbort } from "../http-io.js";
import type { HttpResponse } from "../uws.js";

export function health(ctx: NodeContext, startedAtMs: number) {
  return (res: HttpResponse): void => {
    const state = watchAbort(res);
    sendJson(res, state, 200, {
      status: "ok",
      uptimeSeconds: Math.round((Date.now() - startedAtMs) / 1000),
      connections: ctx.sockets.size,
      apps: ctx.apps.size,
    });
  };
}

export function readiness(ctx: NodeContext, problem: () => string | undefined) {
  return (res: HttpResponse): void => {
    const state = watchAbort(res);
    const reason = ctx.lifecycle.draining ? "draining: the server is shutting down" : problem();
    if (reason) sendJson(res, state, 503, { ready: false, reason });
    else sendJson(res, state, 200, { ready: true });
  };
}
