/**
 * The main thread of a process started with --workers N: it holds the port lock,
 * the hub (thread-hub.ts; with --redis, thread-node-hub.ts, which makes the process
 * one node of the Redis cluster) and the shared counts (thread-tally.ts), starts N worker threads
 * (worker.ts) that share the port, reloads apps.json for them, restarts a thread
 * that dies, and stops them all on a signal, each letting its own event loop end
 * before the process exits.
 */
import { createServer } from "node:net";
import { lockPort } from "./port-lock.js";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { AppRegistry } from "./apps/app-registry.js";
import type { App } from "./apps/app.js";
import { ThreadHub } from "./cluster/thread-hub.js";
import { ThreadMesh } from "./cluster/thread-mesh.js";
import { ThreadOccupancy } from "./cluster/thread-occupancy.js";
import { ThreadSlots } from "./cluster/thread-tally.js";
import { countersOf, mergeExpositions } from "./metrics/merge.js";
import { runtimeMetrics } from "./metrics/runtime.js";
import { shippedFile } from "./shipped-files.js";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import type { AppActivity } from "./console/stats.js";
import type { AppChanges } from "./server/apps-reload.js";
import { reloadAppsOnChange } from "./server/apps-watch.js";
import type { RelayMessage } from "./server/http-transport/relay.js";
import type { WorkerData } from "./worker.js";

/** What the main thread tells a worker. */
export type ToWorker =
  | { readonly t: "apps"; readonly id: number; readonly apps: readonly App[]; readonly slots: Array<[string, number]> }
  | { readonly t: "metrics"; readonly id: number }
  | { readonly t: "activity"; readonly id: number }
  /** To the thread serving the ops port: the others' answers to "metrics" and "activity". */
  | { readonly t: "peerMetrics"; readonly id: number; readonly texts: string[] }
  | { readonly t: "peerActivity"; readonly id: number; readonly activity: Array<Record<string, AppActivity>> }
  /** A message of the HTTP fallback's relay (relay.ts) from another thread. */
  | { readonly t: "relay"; readonly message: RelayMessage }
  | { readonly t: "stop" }
  | { readonly t: "halt" }
  /** Test-only: throw an uncaught exception on that thread. */
  | { readonly t: "crash" };

type FromWorker =
  /** With --port 0: a thread is about to listen, on the port to be chosen now (worker.ts). */
  | { readonly t: "choosePort" }
  | { readonly t: "listening"; readonly port: number; readonly opsPort: number | undefined }
  | { readonly t: "applied"; readonly id: number; readonly changes: AppChanges }
  | { readonly t: "metricsText"; readonly id: number; readonly text: string }
  | { readonly t: "activityOf"; readonly id: number; readonly activity: Record<string, AppActivity> }
  /** The first thread's exposition, with its question for the others'. */
  | { readonly t: "peerMetrics"; readonly id: number; readonly own: string }
  | { readonly t: "peerActivity"; readonly id: number }
  | { readonly t: "relay"; readonly to: number; readonly message: RelayMessage }
  | { readonly t: "stopped" }
  | { readonly t: "failed"; readonly message: string };

interface Thread {
  worker: Worker;
  stopped: Promise<void>;
}

/** A port free on `host` now, for --port 0. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** What the threads share, as thread-hub.ts or thread-node-hub.ts keeps it. */
interface Hub {
  attach(thread: number, port: MessagePort): void;
  forgetThread(dead: number, reporter: number): void;
  stop(): void | Promise<void>;
  /** With --redis: the node starts carrying the messages of apps a reload added. */
  addApps?(appIds: readonly string[]): Promise<void>;
}

/** The hub, and the first of the threads' numbers for their socket_ids (with --redis, the node's). */
async function startHub(config: Config, apps: AppRegistry, slots: ThreadSlots, occupancy: ThreadOccupancy, log: Logger, fail: (message: string) => never): Promise<{ hub: Hub; nodeNumber: number | undefined; firstNumber: number }> {
  if (!config.redis) return { hub: new ThreadHub(config.maxBufferedBytes, occupancy), nodeNumber: undefined, firstNumber: Math.floor(Math.random() * 1_000_000) * 1000 };
  // Loaded only for a cluster, as for one thread.
  const [{ joinCluster }, { NodeThreadHub }, { ClusterStartError }] = await Promise.all([
    import("./cluster/redis-cluster.js"),
    import("./cluster/thread-node-hub.js"),
    import("./cluster/errors.js"),
  ]);
  try {
    // One number per thread, so socket_ids stay unique in the cluster; the node is the first.
    const membership = await joinCluster({ target: config.redis, apps, log, numbers: config.workers });
    return { hub: await NodeThreadHub.start(membership.start, apps, slots, occupancy, log), nodeNumber: membership.nodeNumber, firstNumber: membership.nodeNumber };
  } catch (error) {
    if (error instanceof ClusterStartError) fail(error.message);
    throw error;
  }
}

export async function runWorkers(config: Config, apps: AppRegistry, log: Logger, fail: (message: string) => never): Promise<{ port: number; opsPort: number | undefined; nodeNumber: number | undefined }> {
  const slots = new ThreadSlots(config.workers);
  const occupancy = new ThreadOccupancy(ThreadOccupancy.buffer(config.workers));
  const { hub, nodeNumber, firstNumber } = await startHub(config, apps, slots, occupancy, log, fail);
  const mesh = new ThreadMesh();
  const threads: Array<Thread | undefined> = [];
  /** Per thread: how often it died and was started again. */
  const restarts: number[] = Array.from({ length: config.workers }, () => 0);
  let stopping = false;
  let port = config.port;
  /** The port the threads listen on, in shared memory: with --port 0, chosen as the first thread is about to listen (choosePort). */
  const portChoice = new Int32Array(new SharedArrayBuffer(4));
  let choosing: Promise<void> | undefined;
  /**
   * The kernel does not let threads share a port it chose itself (port 0), so a free one is
   * found and handed to them. Found only as the first thread is about to listen: found before
   * the threads load (a second or so), it was once taken meanwhile by another process.
   * A port can still be locked by a Herald that is stopping (its socket closed, its process
   * not yet gone): then another one is chosen.
   */
  const choosePort = () =>
    (choosing ??= (async () => {
      let locked = 0;
      for (let attempt = 1; attempt <= 10 && locked === 0; attempt++) {
        const free = await freePort(config.host).catch(() => 0);
        if (free !== 0 && (await lockPort(free)) !== null) locked = free;
      }
      // -1: the threads fail to start, saying so.
      Atomics.store(portChoice, 0, locked || -1);
      Atomics.notify(portChoice, 0);
    })());
  let opsPort: number | undefined;
  const mainRuntime = config.metricsPort === 0 ? undefined : runtimeMetrics();
  /** Per thread, its exposition at the last scrape; and the counters of threads that died since start. */
  const lastMetrics: Array<string | undefined> = [];
  let retiredCounters = "";

  const spawn = (thread: number): Promise<void> => {
    const channel = new MessageChannel();
    hub.attach(thread, channel.port1);
    const peers = mesh.join(thread, channel.port1);
    // Only the first thread serves the ops port (its /metrics sums every thread's).
    const threadConfig: Config = { ...config, metricsPort: thread === 0 ? config.metricsPort : 0 };
    const worker = new Worker(shippedFile("worker.js"), {
      workerData: {
        thread,
        threads: config.workers,
        config: threadConfig,
        apps: [...apps.all()],
        hub: channel.port2,
        peers,
        nodeNumber: firstNumber + thread,
        tally: slots.buffer,
        occupancy: occupancy.buffer,
        slots: slots.assign(apps.ids),
        portChoice: portChoice.buffer as SharedArrayBuffer,
      } satisfies WorkerData,
      transferList: [channel.port2, ...peers.map(([, port]) => port)],
    });
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
    threads[thread] = { worker, stopped };
    let served = false;
    return new Promise<void>((listening, failed) => {
      worker.on("message", (message: FromWorker) => {
        if (message.t === "choosePort") return void choosePort();
        if (message.t === "relay") return relayTo(thread, message.to, message.message);
        // The first thread's /metrics and console stats ask for the others' figures.
        if (message.t === "peerMetrics") {
          lastMetrics[thread] = message.own;
          const others = askOthers(thread, "metricsText", (id) => ({ t: "metrics", id }), (other, text) => (lastMetrics[other] = text));
          void Promise.all([others, mainRuntime?.() ?? ""]).then(([texts, runtime]) =>
            worker.postMessage({ t: "peerMetrics", id: message.id, texts: [...texts, retiredCounters, runtime, restartsExposition(restarts)] } satisfies ToWorker),
          );
          return;
        }
        if (message.t === "peerActivity") {
          void askOthers(thread, "activityOf", (id) => ({ t: "activity", id })).then((activity) => worker.postMessage({ t: "peerActivity", id: message.id, activity } satisfies ToWorker));
          return;
        }
        if (message.t === "listening") {
          served = true;
          port = message.port;
          if (thread === 0) opsPort = message.opsPort;
          listening();
        }
      });
      /** Once, when the thread failed or ended while serving: its place goes to a new thread at once. */
      let replaced = false;
      const replace = (why: string) => {
        // A thread that never listened is a start-up failure, reported above, not restarted.
        if (replaced || stopping || !served) return;
        replaced = true;
        restarts[thread] = (restarts[thread] ?? 0) + 1;
        log.error({ thread, why, restarts: restarts[thread] }, "a worker thread ended; its connections are released and it starts again");
        slots.forget(thread);
        occupancy.forget(thread);
        mesh.leave(thread);
        // What it had counted by the last scrape stays counted; the new thread counts from 0.
        retiredCounters = mergeExpositions([retiredCounters, countersOf(lastMetrics[thread] ?? "")]);
        lastMetrics[thread] = undefined;
        const survivor = threads.findIndex((other, index) => other !== undefined && index !== thread);
        hub.forgetThread(thread, survivor >= 0 ? survivor : thread);
        void spawn(thread).catch(() => undefined);
      };
      worker.on("message", (message: FromWorker) => {
        if (message.t !== "failed") return;
        // The failed thread lingers a few seconds for its idle HTTP connections (see worker.ts).
        if (served) return replace(message.message);
        // A thread still starting may wait for a greeting from this one: told it is gone, it starts, and ends when halted.
        mesh.leave(thread);
        failed(new Error(message.message));
      });
      worker.once("error", (error) => {
        log.error({ err: error, thread }, "a worker thread failed");
        if (!served) mesh.leave(thread);
        failed(error);
      });
      worker.once("exit", (code) => {
        resolveStopped();
        replace(`exit code ${code}`);
      });
    });
  };

  /** Asks every thread but `asking`; threads that end meanwhile are left out of the answers. `heard`: each answer with its thread. */
  const askOthers = async <Kind extends Answer["t"]>(
    asking: number,
    answer: Kind,
    question: (id: number) => ToWorker,
    heard?: (thread: number, value: AnswerValue<Kind>) => void,
  ): Promise<Array<AnswerValue<Kind>>> => {
    const answers: Array<AnswerValue<Kind> | undefined> = await Promise.all(
      threads.map(async (other, index) => {
        if (other === undefined || index === asking) return undefined;
        const value = await askWorker(other.worker, answer, question);
        if (value !== undefined) heard?.(index, value);
        return value;
      }),
    );
    return answers.filter((value): value is AnswerValue<Kind> => value !== undefined);
  };

  /** Passes a relay message on; a request for a thread that is gone (restarting) finds no session there. */
  const relayTo = (from: number, to: number, message: RelayMessage) => {
    const target = threads[to];
    if (target) return target.worker.postMessage({ t: "relay", message } satisfies ToWorker);
    if (message.t !== "request") return;
    const head = { status: "404 Not Found", headers: [["Content-Type", "text/plain; charset=utf-8"]] as Array<[string, string]> };
    threads[from]?.worker.postMessage({ t: "relay", message: { t: "response", id: message.id, head, text: "No such session.", end: true } } satisfies ToWorker);
  };

  /** A start-up failure: the threads that run close what they hold before the process exits. */
  const failAll = async (message: string): Promise<never> => {
    stopping = true;
    for (const thread of threads) thread?.worker.postMessage({ t: "halt" } satisfies ToWorker);
    await Promise.race([Promise.all(threads.map((thread) => thread?.stopped)), new Promise((resolve) => setTimeout(resolve, 2000))]);
    return fail(message);
  };

  // The lock is taken before any thread listens, so a second Herald stops before it shares the port.
  if (port !== 0) {
    if ((await lockPort(port)) === null) fail(`Cannot listen on ${config.host}:${port}: another Herald holds it.`);
    Atomics.store(portChoice, 0, port);
  }
  // All at once: loading a thread's modules is most of its start, and the cores do it side by side.
  await Promise.all(
    Array.from({ length: config.workers }, (_, thread) =>
      spawn(thread).catch((error: Error) => {
        throw new Error(`Cannot start worker thread ${thread}: ${error.message}`);
      }),
    ),
  ).catch((error: Error) => failAll(error.message));
  const crashing = process.env.HERALD_TEST_WORKER_CRASH;
  if (crashing !== undefined) {
    // Test-only: SIGUSR2 makes thread N throw, to see it released and started again.
    process.on("SIGUSR2", () => threads[Number(crashing)]?.worker.postMessage({ t: "crash" } satisfies ToWorker));
  }

  reloadAppsOnChange(config.apps, apps, async (next) => {
    const added = next.filter((app) => !apps.byId(app.id)).map((app) => app.id);
    apps.replace(next);
    await hub.addApps?.(added);
    const appSlots = slots.assign(apps.ids);
    const answers = await Promise.all(threads.map((thread) => thread && askWorker(thread.worker, "applied", (id) => ({ t: "apps", id, apps: next, slots: appSlots }))));
    return answers.reduce<AppChanges>((sum, changes) => (changes ? { ...changes, closedSockets: sum.closedSockets + changes.closedSockets } : sum), {
      added: [],
      removed: [],
      changed: [],
      closedSockets: 0,
    });
  }, log);

  /** A stop cut short (second signal, grace over) exits 1, even if a graceful one ends at the same time. */
  let exitCode = 0;
  /** Every thread closes what it holds at once; the process exits once they have (or 2 s on, whatever they hold). */
  const haltAll = () => {
    stopping = true;
    exitCode = 1;
    for (const thread of threads) thread?.worker.postMessage({ t: "halt" } satisfies ToWorker);
    const last = setTimeout(() => process.exit(1), 2000);
    void Promise.all(threads.map((thread) => thread?.stopped)).then(() => {
      clearTimeout(last);
      process.exit(1);
    });
  };
  const stop = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting at once");
      return haltAll();
    }
    stopping = true;
    log.info({ signal, graceSeconds: config.shutdownGrace, workers: threads.length }, "shutting down: draining connections");
    const deadline = setTimeout(() => {
      log.warn(`shutdown took longer than ${config.shutdownGrace} s (--shutdown-grace); exiting anyway`);
      haltAll();
    }, config.shutdownGrace * 1000);
    deadline.unref();
    for (const thread of threads) thread?.worker.postMessage({ t: "stop" } satisfies ToWorker);
    void Promise.all(threads.map((thread) => thread?.stopped))
      .then(() => hub.stop())
      .then(() => {
        log.info("stopped");
        process.exit(exitCode);
      });
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // An error nothing caught on this thread (logged by main.ts) ends the process, as on one
  // thread; but Node aborts if it exits while a worker still holds its uWS app, so the
  // workers close what they hold first.
  process.on("uncaughtException", haltAll);
  return { port, opsPort, nodeNumber };
}

/** The main thread's own series, merged into the first thread's /metrics. */
function restartsExposition(restarts: readonly number[]): string {
  return [
    "# HELP herald_worker_restarts_total Worker threads that died (an uncaught exception) and were started again, per thread.",
    "# TYPE herald_worker_restarts_total counter",
    ...restarts.map((count, thread) => `herald_worker_restarts_total{worker="${thread}"} ${count}`),
    "",
  ].join("\n");
}

let nextAsk = 1;

type Answer = Extract<FromWorker, { t: "applied" | "metricsText" | "activityOf" }>;
type AnswerValue<Kind extends Answer["t"]> = Kind extends "applied" ? AppChanges : Kind extends "metricsText" ? string : Record<string, AppActivity>;

/**
 * Asks a thread and waits for its answer of kind `answer` to that question; a thread
 * that ends first (it failed, say) answers undefined, so no caller waits for good.
 */
function askWorker<Kind extends Answer["t"]>(worker: Worker, answer: Kind, question: (id: number) => ToWorker): Promise<AnswerValue<Kind> | undefined> {
  const id = nextAsk++;
  return new Promise((resolve) => {
    const done = (value: AnswerValue<Kind> | undefined) => {
      worker.off("message", onMessage);
      worker.off("exit", onExit);
      resolve(value);
    };
    const onMessage = (message: FromWorker) => {
      if (message.t !== answer || (message as Answer).id !== id) return;
      const answered = message as Answer;
      done((answered.t === "applied" ? answered.changes : answered.t === "metricsText" ? answered.text : answered.activity) as AnswerValue<Kind>);
    };
    const onExit = () => done(undefined);
    worker.on("message", onMessage);
    worker.once("exit", onExit);
    worker.postMessage(question(id));
  });
}
