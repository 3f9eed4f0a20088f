/** The commands the benchmark sends its client workers, and their replies. */
export type WorkerCommand =
  | { cmd: "connect"; url: string; count: number; concurrency: number }
  /** `plan[i]` lists the channels of the worker's i-th socket. */
  | { cmd: "subscribe"; plan: string[][]; key: string; secret: string; workerTag: string }
  /** Resets the counters; with exactEvents > 0 each socket records which of that many sequence numbers arrived. */
  | { cmd: "track"; exactEvents: number }
  | { cmd: "report" }
  /** Only the number of events received since the last track. */
  | { cmd: "count" }
  | { cmd: "close" };

export type WorkerReply = Record<string, unknown>;

export interface DeliveryReport {
  received: number;
  missing: number;
  duplicates: number;
  histogram: Record<number, number>;
}

export interface SubscribeReport {
  startedAt: number;
  finishedAt: number;
  errors: number;
  unanswered: number;
}
