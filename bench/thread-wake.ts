/**
 * What it costs to hand one small message to a worker thread that is idle, as a
 * lone publish under --workers does: the receiving thread's CPU per message, and the
 * sending thread's time in the call that hands it over (which wakes the receiver),
 * with a MessagePort (what Herald uses) and with a SharedArrayBuffer slot woken by
 * Atomics.notify (the alternative). Messages are 50 µs apart, so the receiver
 * sleeps between them as the threads of a lightly loaded Herald do.
 *
 *   npm run build && tsc -p tsconfig.bench.json && node dist-bench/bench/thread-wake.js
 */
import { readFileSync } from "node:fs";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

type Mode = "port" | "shared";
const MESSAGES = 20_000;
/** Node 20 has Atomics.waitAsync; the ES2022 library this project compiles against does not declare it. */
const { waitAsync } = Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false } | { async: true; value: Promise<string> };
};
const FRAME = JSON.stringify({ appId: "bench", channel: "b4", frame: '{"event":"e","channel":"b4","data":"{\\"seq\\":1}"}' });

/** A thread's time on a CPU so far, in nanoseconds (Linux). */
const threadNs = (tid: number) => Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);

async function measure(mode: Mode, gapMs = 0.05): Promise<{ receiverUs: number; senderUs: number }> {
  const shared = new SharedArrayBuffer(64 * 1024);
  const worker = new Worker(new URL(import.meta.url), { workerData: { shared, mode } });
  const tid = await new Promise<number>((ready) => worker.once("message", ready));
  const control = new Int32Array(shared, 0, 2);
  const slot = new Uint8Array(shared, 64);
  const before = threadNs(tid);
  const done = new Promise((finished) => worker.once("message", finished));
  let sendingMs = 0;
  for (let sent = 0; sent < MESSAGES; sent++) {
    const sending = performance.now();
    if (mode === "port") worker.postMessage({ t: "deliver", message: FRAME });
    else {
      const length = Buffer.from(slot.buffer, 64).write(FRAME);
      Atomics.store(control, 1, length);
      Atomics.add(control, 0, 1);
      Atomics.notify(control, 0);
    }
    sendingMs += performance.now() - sending;
    const until = performance.now() + gapMs;
    while (performance.now() < until);
    // Let the worker's replies and our own loop run now and then.
    if (sent % 100 === 99) await new Promise((next) => setImmediate(next));
  }
  await done;
  const ns = threadNs(tid) - before;
  await worker.terminate();
  return { receiverUs: ns / MESSAGES / 1000, senderUs: (sendingMs * 1000) / MESSAGES };
}

function serve(): void {
  const { shared, mode } = workerData as { shared: SharedArrayBuffer; mode: Mode };
  const port = parentPort!;
  let received = 0;
  const got = (text: string) => {
    if (text.length > 0 && ++received === MESSAGES) port.postMessage("done");
  };
  // Listening also keeps the thread alive: a pending Atomics.waitAsync does not.
  port.on("message", (message: { message: string }) => got(message.message));
  if (mode === "shared") {
    const control = new Int32Array(shared, 0, 2);
    const slot = new Uint8Array(shared, 64);
    const decoder = new TextDecoder();
    let seen = 0;
    const wait = (): void => {
      const waited = waitAsync(control, 0, seen);
      const take = () => {
        for (const now = Atomics.load(control, 0); seen < now; seen++) got(decoder.decode(slot.subarray(0, Atomics.load(control, 1))));
        wait();
      };
      if (waited.async) void waited.value.then(take);
      else take();
    };
    wait();
  }
  // The thread's id in /proc, for its CPU time.
  port.postMessage(Number(readFileSync("/proc/thread-self/stat", "utf8").split(" ")[0]));
}

if (isMainThread) {
  for (const mode of ["port", "shared", "port", "shared"] as const) {
    const { receiverUs, senderUs } = await measure(mode);
    console.log(
      `${mode === "port" ? "MessagePort        " : "SharedArrayBuffer  "} receiving thread's CPU per message: ${receiverUs.toFixed(1)} µs; sending thread's time handing it over: ${senderUs.toFixed(1)} µs`,
    );
  }
  // For comparison: back to back, so the receiver is still awake with the last message when the next comes.
  const { receiverUs, senderUs } = await measure("port", 0);
  console.log(`MessagePort, back to back: receiving thread's CPU per message: ${receiverUs.toFixed(1)} µs; sending thread's time handing it over: ${senderUs.toFixed(1)} µs`);
} else serve();
