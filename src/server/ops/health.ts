/**
 * `GET /health` (liveness: the process answers) and `GET /ready` (whether a load
 * balancer should send clients here: not while draining, not while cut off from
 * the cluster's Redis). Both answer HEAD too, as health checks may ask.
 */
import type { ConnectionCounts } from "../../cluster/cluster.js";
import type { AppRegistry } from "../../apps/app-registry.js";
import type { Lifecycle } from "../graceful-stop.js";
import type { SocketRegistry } from "../socket-registry.js";
import { sendJson, watchAbort } from "../http-io.js";
import type { HttpRequest, HttpResponse } from "../uws.js";

export function health(ctx: { readonly sockets: SocketRegistry; readonly apps: AppRegistry; readonly connectionCounts: ConnectionCounts }) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const state = watchAbort(res, req);
    sendJson(res, state, 200, {
      status: "ok",
      // The process's, in any thread: a worker thread started again after a failure answers the same.
      uptimeSeconds: Math.round(process.uptime()),
      // The process's: with worker threads, the others' as last seen too.
      connections: ctx.sockets.size + ctx.connectionCounts.elsewhereInProcess(),
      apps: ctx.apps.size,
    });
  };
}

export function readiness(lifecycle: Lifecycle, problem: () => string | undefined) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const state = watchAbort(res, req);
    const reason = lifecycle.draining ? "draining: the server is shutting down" : problem();
    if (reason) sendJson(res, state, 503, { ready: false, reason });
    else sendJson(res, state, 200, { ready: true });
  };
}
