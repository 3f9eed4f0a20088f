/**
 * One worker thread of a process started with --workers: a whole node (node.ts)
 * on the shared port, whose cluster is the main thread's hub (thread-node.ts).
 * Connections and the HTTP API's allowances are counted with the other threads in
 * shared memory (thread-tally.ts). The main thread (workers.ts) owns the signals
 * and apps.json; this thread reports that it listens, applies the apps it is
 * sent, and drains when told.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { AppRegistry } from "./apps/app-registry.js";
import type { App } from "./apps/app.js";
import type { PeerPorts } from "./cluster/thread-mesh.js";
import { threadNode } from "./cluster/thread-node.js";
import { ThreadOccupancy } from "./cluster/thread-occupancy.js";
import { ThreadTally } from "./cluster/thread-tally.js";
import { REMOTE_WATCH_MS } from "./console/tap.js";
import { SessionRelay } from "./server/http-transport/relay.js";
import type { Config } from "./config.js";
import type { AppActivity } from "./console/stats.js";
import type { OtherThreads } from "./server/ops/ops-listener.js";
import { createLogger } from "./logger.js";
import { startNode } from "./node.js";
import { drain, halt } from "./server/graceful-stop.js";
import type { ToWorker } from "./workers.js";

export interface WorkerData {
  readonly thread: number;
  readonly threads: number;
  readonly config: Config;
  readonly apps: App[];
  /** The thread's port to the hub. */
  readonly hub: MessagePort;
  /** Its ports to the threads started before it (thread-mesh.ts). */
  readonly peers: PeerPorts;
  /** For its socket_ids: unique in the process, and with --redis in the cluster. */
  readonly nodeNumber: number;
  readonly tally: SharedArrayBuffer;
  /** Which threads have subscribers of a channel (thread-occupancy.ts). */
  readonly occupancy: SharedArrayBuffer;
  readonly slots: Array<[string, number]>;
  /** The port every thread listens on, once chosen (0 until then; -1: none could be). */
  readonly portChoice: SharedArrayBuffer;
}

const { thread, threads, config, apps, hub, peers, nodeNumber, tally: tallyBuffer, occupancy, slots, portChoice } = workerData as WorkerData;
const log = createLogger().child({ thread });
log.level = config.logLevel;
const registry = new AppRegistry(apps);
const tally = new ThreadTally(tallyBuffer, thread, threads, slots);
/** The HTTP fallback's requests that land here for another thread's session, and back. */
const sessionRelay = new SessionRelay({ thread, threads, post: (to, message) => parentPort!.postMessage({ t: "relay", to, message }) });
let nextAsk = 1;
const asked = new Map<number, (answers: never[]) => void>();
/** The first thread serves the ops port for the process: it asks the main thread for the others' figures. */
const askOthers = <Answer>(question: { t: "peerMetrics"; own: string } | { t: "peerActivity" }) =>
  new Promise<Answer[]>((resolve) => {
    const id = nextAsk++;
    asked.set(id, resolve as (answers: never[]) => void);
    parentPort!.postMessage({ ...question, id });
  });
const otherThreads: OtherThreads = {
  node: `${nodeNumber - thread}, ${threads} threads`,
  metrics: (own) => askOthers<string>({ t: "peerMetrics", own }),
  activity: () => askOthers<Record<string, AppActivity>>({ t: "peerActivity" }),
};
/**
 * The port to listen on. With --port 0 the main thread chooses it when a thread is about
 * to listen, not before the threads load, so that nothing else on the machine takes it in
 * between (workers.ts); the answer comes through shared memory, as this thread's messages
 * from the main thread wait until it has started.
 */
async function sharedPort(): Promise<number> {
  const chosen = new Int32Array(portChoice);
  if (Atomics.load(chosen, 0) === 0) {
    parentPort!.postMessage({ t: "choosePort" });
    // Not in ES2022's typings; Node 20 has it.
    const { value } = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number): { value: Promise<string> | string } }).waitAsync(chosen, 0, 0);
    await value;
  }
  const port = Atomics.load(chosen, 0);
  if (port < 0) throw new Error(`Cannot listen on ${config.host}: no free port could be chosen and locked.`);
  return port;
}

/**
 * Nothing may end this thread while it holds the engine's sockets (that aborts the
 * whole process): a failure closes them all, idle keep-alive HTTP connections too
 * (halt), tells the main thread, and lets the loop end.
 */
let finished = false;
let node: Awaited<ReturnType<typeof startNode>> | undefined;
function end(report: { t: "stopped" } | { t: "failed"; message: string }, closeAll: boolean): void {
  if (finished) return;
  finished = true;
  // The hub first: what closing the sockets would tell it is left to forgetThread on the
  // main thread, which tells the other threads' sockets too.
  hub.close();
  if (closeAll && node) halt(node.drainable);
  parentPort!.postMessage(report);
  parentPort!.close();
}
const failed = (error: unknown) => {
  log.fatal({ err: error }, "this worker thread failed; its connections close and the main thread starts it again");
  end({ t: "failed", message: error instanceof Error ? error.message : String(error) }, true);
};
process.on("uncaughtException", failed);
process.on("unhandledRejection", failed);

try {
  const cluster = threadNode(hub, registry, tally, {
    peers,
    occupancy: { threads: new ThreadOccupancy(occupancy), thread },
    publishToHub: config.redis !== undefined,
    showsRedisLink: thread === 0 && config.redis !== undefined,
  });
  node = await startNode(config, registry, log, cluster, nodeNumber, {
    sharedPort,
    otherThreads: thread === 0 && threads > 1 ? otherThreads : undefined,
    sharedAllowances: (appId, kind) => tally.allowance(appId, kind),
    sessionRelay,
    sharedWatches: { watched: (appId) => tally.watched(appId), watch: (appIds) => tally.watch(appIds, REMOTE_WATCH_MS / 1000) },
    // The process is the node (with --redis, the cluster's); the thread is a detail of it.
    consoleName: `${nodeNumber - thread} thread ${thread}`,
  });
  parentPort!.postMessage({ t: "listening", port: node.port, opsPort: node.opsPort });
} catch (error) {
  end({ t: "failed", message: error instanceof Error ? error.message : String(error) }, false);
}

parentPort!.on("message", (message: ToWorker) => {
  if (message.t === "relay") return sessionRelay.received(message.message);
  // A /metrics request in flight when this thread failed still gets its answer.
  if (message.t === "peerMetrics" || message.t === "peerActivity") {
    asked.get(message.id)?.((message.t === "peerMetrics" ? message.texts : message.activity) as never[]);
    return void asked.delete(message.id);
  }
  // (Messages wait in the port until this listener is on, after the start.) Asked after
  // failing or stopping: nothing counted here to add, but an answer all the same.
  const running = finished ? undefined : node;
  if (message.t === "metrics") return void (running?.metricsText() ?? Promise.resolve("")).then((text) => parentPort!.postMessage({ t: "metricsText", id: message.id, text }));
  if (message.t === "activity") return parentPort!.postMessage({ t: "activityOf", id: message.id, activity: running?.activity() ?? {} });
  if (!running) return;
  switch (message.t) {
    case "apps":
      tally.setSlots(message.slots);
      return void running.applyApps(message.apps).then((changes) => parentPort!.postMessage({ t: "applied", id: message.id, changes }));
    case "crash":
      // Test-only (HERALD_TEST_WORKER_CRASH): a real uncaught exception, as a bug would throw.
      setImmediate(() => {
        throw new Error("a crash asked for by a test");
      });
      return;
    case "halt":
      return end({ t: "stopped" }, true);
    case "stop":
      // Everything this thread holds is closed, so its event loop ends by itself.
      return void drain(running.drainable).then(() => end({ t: "stopped" }, false));
  }
});
