import type { NodeContext } from "./node-context.js";

/**
 * Runs `then` on a value at once, or when a promise of it resolves: a single
 * node answers cluster questions at once, a cluster node after asking Redis.
 */
export function settle<T>(ctx: NodeContext, value: T | Promise<T>, then: (value: T) => void): void {
  if (!(value instanceof Promise)) return then(value);
  value.then(then).catch((error: unknown) => ctx.log.error({ err: error }, "finishing a cluster change failed"));
}
