/**
 * The ops listener: Prometheus scrapes GET /metrics, and people open the console,
 * on a port of their own, so neither is ever exposed through the public WebSocket
 * port or its load balancer.
 */
import type { MetricsExporter } from "../../metrics/prometheus.js";
import { sendError, watchAbort } from "../http-io.js";
import uWS, { listenExclusively, type TemplatedApp, type us_listen_socket } from "../uws.js";

/** Resolves to the listening socket, or null when the port is taken. `mount` adds more routes (the console). */
export async function listenForOps(host: string, port: number, exporter: MetricsExporter, mount: (app: TemplatedApp) => void): Promise<us_listen_socket | null> {
  const app = uWS.App();
  app.get("/metrics", (res) => {
    const state = watchAbort(res);
    exporter.text().then(
      (text) => {
        if (state.aborted) return;
        res.cork(() => res.writeHeader("Content-Type", exporter.contentType).end(text));
      },
      (error: unknown) => sendError(res, state, 500, `Collecting metrics failed: ${String(error)}`),
    );
  });
  mount(app);
  app.any("/*", (res) => sendError(res, watchAbort(res), 404, "This port serves GET /metrics and the console (GET /) only.", true));
  const listening = await listenExclusively(app, host, port);
  return listening?.socket ?? null;
}
