/**
 * prom-client's runtime metrics (process, heap, garbage collection, event loop). The
 * event loop's delay is sampled every 100 ms, not prom-client's 10: each sample is a
 * timer that wakes an idle thread: at 10 ms an idle Herald spent 9.7 ms of CPU a
 * second, at 100 ms 1.4 (bench/RESULTS.md, "Memory under churn, and an idle server").
 * A stall still shows in the percentiles, and nodejs_eventloop_lag_seconds is
 * measured at each scrape anyway.
 */
import client from "prom-client";

export function collectRuntimeMetrics(registry: client.Registry): void {
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
}

/**
 * Those of the thread that calls it, for a thread that has none of Herald's own: the
 * main thread of a process with --workers, whose heap (the hub's state), garbage
 * collections and event loop are part of the process's.
 */
export function runtimeMetrics(): () => Promise<string> {
  const registry = new client.Registry();
  collectRuntimeMetrics(registry);
  return () => registry.metrics();
}
