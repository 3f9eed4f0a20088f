/**
 * prom-client's runtime metrics of the thread that calls it, for a thread that has
 * none of Herald's own: the main thread of a process with --workers, whose heap (the
 * hub's state), garbage collections and event loop are part of the process's.
 */
import client from "prom-client";

export function runtimeMetrics(): () => Promise<string> {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return () => registry.metrics();
}
