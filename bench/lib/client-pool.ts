/** The worker processes that hold the benchmark's client sockets. */
import { fork, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { LatencyHistogram } from "./histogram.js";
import type { DeliveryReport, SubscribeReport, WorkerCommand, WorkerReply } from "./worker-protocol.js";

export class ClientPool {
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: { result?: WorkerReply; error?: string }) => void>();
  /** Sockets held by each worker, in the order they connected. */
  readonly sizes: number[];

  private constructor(private readonly workers: ChildProcess[]) {
    this.sizes = workers.map(() => 0);
    for (const worker of workers) {
      worker.on("message", (message: { id: number; result?: WorkerReply; error?: string }) => {
        this.waiting.get(message.id)?.(message);
        this.waiting.delete(message.id);
      });
    }
  }

  static start(count: number): ClientPool {
    const script = resolve(import.meta.dirname, "../client-worker.js");
    return new ClientPool(Array.from({ length: count }, () => fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] })));
  }

  private call(worker: number, command: WorkerCommand): Promise<WorkerReply> {
    const id = this.nextId++;
    return new Promise((resolveCall, reject) => {
      this.waiting.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolveCall(reply.result!)));
      this.workers[worker]!.send({ id, command });
    });
  }

  private all(command: (worker: number) => WorkerCommand): Promise<WorkerReply[]> {
    return Promise.all(this.workers.map((_, index) => this.call(index, command(index))));
  }

  /** Opens `total` sockets spread evenly over the workers. */
  async connect(port: number, key: string, total: number): Promise<{ connected: number; failed: number }> {
    const share = (index: number) => Math.floor(total / this.workers.length) + (index < total % this.workers.length ? 1 : 0);
    const replies = await this.all((index) => ({
      cmd: "connect",
      url: `ws://127.0.0.1:${port}/app/${key}?protocol=7&client=bench&version=1`,
      count: share(index),
      concurrency: 50,
    }));
    replies.forEach((reply, index) => (this.sizes[index] = reply.connected as number));
    return {
      connected: replies.reduce((sum, reply) => sum + (reply.connected as number), 0),
      failed: replies.reduce((sum, reply) => sum + (reply.failed as number), 0),
    };
  }

  /**
   * Subscribes every socket at once; `channelsOf(n)` gives the channels of the
   * n-th socket overall. Returns when all are answered, with the burst's span.
   */
  async subscribe(channelsOf: (socket: number) => string[], key: string, secret: string): Promise<SubscribeReport> {
    let offset = 0;
    const plans = this.sizes.map((size) => {
      const plan = Array.from({ length: size }, (_, index) => channelsOf(offset + index));
      offset += size;
      return plan;
    });
    const replies = (await this.all((index) => ({ cmd: "subscribe", plan: plans[index]!, key, secret, workerTag: `w${index}` }))) as unknown as SubscribeReport[];
    return {
      startedAt: Math.min(...replies.map((reply) => reply.startedAt)),
      finishedAt: Math.max(...replies.map((reply) => reply.finishedAt)),
      errors: replies.reduce((sum, reply) => sum + reply.errors, 0),
      unanswered: replies.reduce((sum, reply) => sum + reply.unanswered, 0),
    };
  }

  async track(exactEvents = 0): Promise<void> {
    await this.all(() => ({ cmd: "track", exactEvents }));
  }

  async report(): Promise<{ received: number; missing: number; duplicates: number; latency: LatencyHistogram }> {
    const replies = (await this.all(() => ({ cmd: "report" }))) as unknown as DeliveryReport[];
    const latency = new LatencyHistogram();
    for (const reply of replies) latency.merge(reply.histogram);
    return {
      received: replies.reduce((sum, reply) => sum + reply.received, 0),
      missing: replies.reduce((sum, reply) => sum + reply.missing, 0),
      duplicates: replies.reduce((sum, reply) => sum + reply.duplicates, 0),
      latency,
    };
  }

  /** Waits until `expected` events have arrived or `timeoutMs` passed without progress. */
  async waitForDeliveries(expected: number, timeoutMs = 10_000): Promise<void> {
    let last = -1;
    let lastChange = Date.now();
    for (;;) {
      const received = (await this.all(() => ({ cmd: "count" }))).reduce((sum, reply) => sum + (reply.received as number), 0);
      if (received >= expected) return;
      if (received !== last) {
        last = received;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > timeoutMs) return;
      await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    }
  }

  async closeSockets(): Promise<void> {
    await this.all(() => ({ cmd: "close" }));
    this.sizes.fill(0);
  }

  stop(): void {
    for (const worker of this.workers) worker.kill();
  }
}
