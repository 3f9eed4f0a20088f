/**
 * One worker thread of a process started with --workers: a whole node (node.ts)
 * on the shared port, whose cluster is the main thread's hub (thread-node.ts).
 * The main thread (workers.ts) owns the signals and apps.json; this thread
 * reports that it listens, applies the apps it is sent, and drains when told.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { AppRegistry } from "./apps/app-registry.js";
import type { App } from "./apps/app.js";
import { threadNode } from "./cluster/thread-node.js";
import type { Config } from "./config.js";
import { createLogger } from "./logger.js";
import { startNode } from "./node.js";
import { drain, halt } from "./server/graceful-stop.js";
import type { ToWorker } from "./workers.js";

const { thread, threads, config, apps, hub, nodeNumber } = workerData as { thread: number; threads: number; config: Config; apps: App[]; hub: MessagePort; nodeNumber: number };
const log = createLogger().child({ thread });
log.level = config.logLevel;
const registry = new AppRegistry(apps);
let nextAsk = 1;
const asked = new Map<number, (texts: string[]) => void>();
/** The first thread serves /metrics for the process: it asks the main thread for the others'. */
const otherThreads = () =>
  new Promise<string[]>((resolve) => {
    const id = nextAsk++;
    asked.set(id, resolve);
    parentPort!.postMessage({ t: "peerMetrics", id });
  });
const node = await startNode(config, registry, log, threadNode(thread, hub, registry), nodeNumber, {
  sharedPort: true,
  otherThreads: thread === 0 && threads > 1 ? otherThreads : undefined,
});
parentPort!.postMessage({ t: "listening", port: node.port, opsPort: node.opsPort });

let finished = false;
parentPort!.on("message", (message: ToWorker) => {
  if (message.t === "metrics") {
    void node.metricsText().then((text) => parentPort!.postMessage({ t: "metricsText", id: message.id, text }));
    return;
  }
  if (message.t === "peerMetrics") {
    asked.get(message.id)?.(message.texts);
    asked.delete(message.id);
    return;
  }
  if (message.t === "apps") {
    void node.applyApps(message.apps).then((changes) => parentPort!.postMessage({ t: "applied", id: message.id, changes }));
    return;
  }
  // Stop (or halt, at once): everything this thread holds is closed, so its event loop
  // ends by itself (ending a thread that still holds the engine's sockets aborts the process).
  const done = () => {
    if (finished) return;
    finished = true;
    hub.close();
    parentPort!.postMessage({ t: "stopped" });
    parentPort!.close();
  };
  if (message.t === "halt") {
    halt(node.drainable);
    return done();
  }
  void drain(node.drainable).then(done);
});
