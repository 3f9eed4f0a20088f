import { ThreadStopped } from "../cluster/errors.js";
import type { Logger } from "../logger.js";

/**
 * Runs `then` on a value at once, or when a promise of it resolves: a single
 * node answers cluster questions at once, a cluster node after asking Redis.
 * A worker thread that stops leaves nothing to finish (ThreadStopped), and says so
 * once itself.
 */
export function settle<T>(log: Logger, value: T | Promise<T>, then: (value: T) => void): void {
  if (!(value instanceof Promise)) return then(value);
  value.then(then).catch((error: unknown) => error instanceof ThreadStopped || log.error({ err: error }, "finishing a cluster change failed"));
}
