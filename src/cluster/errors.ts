/** Errors of the cluster layer, kept apart so a single process never loads the Redis client. */

/** Redis could not be reached when the node started. */
export class ClusterStartError extends Error {
  override name = "ClusterStartError";
}

/** Reads of cluster state failed (Redis unreachable); the HTTP API answers 503. */
export class ClusterStateUnavailable extends Error {
  override name = "ClusterStateUnavailable";
}

/**
 * A worker thread's question that the hub will not answer, since the thread stops (or
 * failed): its sockets end with it, and the hub forgets what the thread held, so what
 * waited on the answer has nothing left to finish.
 */
export class ThreadStopped extends ClusterStateUnavailable {
  override name = "ThreadStopped";
}

/** Runs a read of cluster state, turning a Redis failure into ClusterStateUnavailable saying what is missing. */
export async function readClusterState<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new ClusterStateUnavailable(`Redis cannot be read (${(error as Error).message}); ${what} are unavailable until it is back.`);
  }
}

/**
 * ioredis sends some commands of its own after a reconnect without waiting on them (the
 * URL's SELECT, a resubscribe); one that the next close cuts rejects with nobody to hear
 * it. That is a Redis outage, which the cluster layer rides out, not a fault of Herald's.
 */
export function isRedisConnectionLoss(error: unknown): boolean {
  return error instanceof Error && (error.name === "MaxRetriesPerRequestError" || error.message === "Connection is closed.");
}
