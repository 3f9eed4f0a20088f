/**
 * The graceful stop: on SIGTERM or SIGINT a node drains (no new sockets, /ready
 * 503, every socket closed with 4200 so pusher-js reconnects through the load
 * balancer at once), sends the webhooks that are due, leaves the cluster and
 * exits 0, within --shutdown-grace seconds. A second signal exits at once.
 */
import type { ClusterServices } from "../cluster/cluster.js";
import type { Logger } from "../logger.js";
import { Closes } from "../protocol/closes.js";
import type { Webhooks } from "../webhooks/webhooks.js";
import { closeConnection } from "./close-connection.js";
import type { SocketRegistry } from "./socket-registry.js";
import { closeApp, type TemplatedApp } from "./uws.js";
import type { HttpSessions } from "./http-transport/routes.js";

/** How long the stop waits for HTTP sessions between two polls to come for their close. */
const SESSION_CLOSE_WAIT_MS = 2000;

/** Shared by the WebSocket upgrade, /ready and the stop. */
export interface Lifecycle {
  /** Set once a stop has begun: no new sockets, /ready answers 503. */
  draining: boolean;
}

export interface Drainable {
  readonly lifecycle: Lifecycle;
  readonly sockets: SocketRegistry;
  readonly webhooks: Webhooks;
  readonly cluster: Pick<ClusterServices, "settled" | "close">;
  /** The node's timers and feeds (keepalive, console, stats, sweeps), stopped first. */
  readonly stopTimers: () => void;
  /** The HTTP fallback's sessions, which take their close with their next receive request. */
  readonly httpSessions: HttpSessions | undefined;
  /** Closed last, with every HTTP connection, so a load balancer can read /ready until the end. */
  readonly apps: readonly TemplatedApp[];
}

export async function drain(node: Drainable): Promise<void> {
  node.lifecycle.draining = true;
  node.stopTimers();
  // Closing a socket removes it from the registry: walk a copy.
  for (const ws of [...node.sockets.sockets()]) closeConnection(ws, Closes.shuttingDown());
  await node.httpSessions?.closed(SESSION_CLOSE_WAIT_MS);
  // Departures are held 3 s (clients reconnecting elsewhere cancel theirs); then
  // their webhooks, and whatever else is queued, go out before the node leaves.
  await node.cluster.settled();
  await node.webhooks.flush();
  node.webhooks.stop();
  await node.cluster.close();
  await node.httpSessions?.relaysAnswered(SESSION_CLOSE_WAIT_MS);
  for (const app of node.apps) closeApp(app);
}

/** Ends everything at once, with no wait for webhooks or held departures: for a second signal or a spent grace. */
export function halt(node: Drainable): void {
  node.lifecycle.draining = true;
  node.stopTimers();
  for (const ws of [...node.sockets.sockets()]) closeConnection(ws, Closes.shuttingDown());
  node.webhooks.stop();
  void node.cluster.close();
  for (const app of node.apps) closeApp(app);
}

/** Drains on the first SIGTERM or SIGINT, bounded by `graceSeconds`; exits 1 on a second signal or past the grace. */
export function stopOnSignals(log: Logger, graceSeconds: number, node: Drainable): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting at once");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, graceSeconds }, "shutting down: draining connections");
    const deadline = setTimeout(() => {
      log.warn(`shutdown took longer than ${graceSeconds} s (--shutdown-grace); exiting anyway`);
      process.exit(1);
    }, graceSeconds * 1000);
    deadline.unref();
    drain(node).then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        log.fatal({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
