/** One /metrics for the threads of a process. */
import client from "prom-client";
import { describe, expect, it } from "vitest";
import { countersOf, mergeExpositions } from "../../src/metrics/merge.js";

const lines = (text: string) => text.split("\n").filter((line) => line !== "");

describe("merging the threads' metrics", () => {
  it("sums Herald's series by labels and keeps the first thread's process metrics", () => {
    const first = [
      "# HELP herald_connections Open connections.",
      "# TYPE herald_connections gauge",
      'herald_connections{app="a"} 3',
      'herald_publish_latency_seconds_bucket{le="+Inf"} 5',
      "# TYPE process_resident_memory_bytes gauge",
      "process_resident_memory_bytes 1000",
      "",
    ].join("\n");
    const second = ['herald_connections{app="a"} 4', 'herald_connections{app="b"} 1', 'herald_publish_latency_seconds_bucket{le="+Inf"} 2', "process_resident_memory_bytes 1000", ""].join("\n");
    const merged = mergeExpositions([first, second]);
    expect(merged).toContain('herald_connections{app="a"} 7');
    expect(merged).toContain('herald_connections{app="b"} 1');
    expect(merged).toContain('herald_publish_latency_seconds_bucket{le="+Inf"} 7');
    expect(merged).toContain("process_resident_memory_bytes 1000");
    expect(merged).not.toContain("process_resident_memory_bytes 2000");
    expect(merged.startsWith("# HELP herald_connections Open connections.")).toBe(true);
    expect(mergeExpositions([first])).toBe(first);
  });

  it("keeps the HELP and TYPE of a metric only another exposition has", () => {
    const first = ["# HELP herald_connections Open connections.", "# TYPE herald_connections gauge", "herald_connections 1", ""].join("\n");
    const main = ["# HELP herald_worker_restarts_total Restarts.", "# TYPE herald_worker_restarts_total counter", 'herald_worker_restarts_total{worker="0"} 2', ""].join("\n");
    const again = ["# HELP herald_connections Open connections.", "# TYPE herald_connections gauge", "herald_connections 2", ""].join("\n");
    expect(mergeExpositions([first, again, main])).toBe(
      [
        "# HELP herald_connections Open connections.",
        "# TYPE herald_connections gauge",
        "herald_connections 3",
        "",
        "# HELP herald_worker_restarts_total Restarts.",
        "# TYPE herald_worker_restarts_total counter",
        'herald_worker_restarts_total{worker="0"} 2',
        "",
      ].join("\n"),
    );
  });

  it("reports the Redis link up only if every thread's is, with the slowest round trip", () => {
    const threads = [
      ["herald_redis_up 1", "herald_redis_round_trip_seconds 0.002", "herald_redis_messages_not_sent_total 1"],
      ["herald_redis_up 0", "herald_redis_round_trip_seconds 0.005", "herald_redis_messages_not_sent_total 2"],
      ["herald_redis_up 1", "herald_redis_round_trip_seconds 0.001", "herald_redis_messages_not_sent_total 0"],
    ].map((lines) => lines.join("\n"));
    expect(lines(mergeExpositions(threads))).toEqual(["herald_redis_up 0", "herald_redis_round_trip_seconds 0.005", "herald_redis_messages_not_sent_total 3"]);
  });

  it("sums the threads' heaps and collections, and takes the slowest thread's event-loop lag", () => {
    const thread = (heap: number, lag: number, minorGcs: number) =>
      [
        "# TYPE nodejs_heap_size_used_bytes gauge",
        `nodejs_heap_size_used_bytes ${heap}`,
        "# TYPE nodejs_eventloop_lag_p99_seconds gauge",
        `nodejs_eventloop_lag_p99_seconds ${lag}`,
        "# TYPE nodejs_gc_duration_seconds histogram",
        `nodejs_gc_duration_seconds_count{kind="minor"} ${minorGcs}`,
        'nodejs_version_info{version="v20.20.2",major="20",minor="20",patch="2"} 1',
      ].join("\n");
    expect(lines(mergeExpositions([thread(8e6, 0.011, 3), thread(7e6, 0.052, 4), thread(2e6, 0.01, 1)]))).toEqual([
      "# TYPE nodejs_heap_size_used_bytes gauge",
      "nodejs_heap_size_used_bytes 17000000",
      "# TYPE nodejs_eventloop_lag_p99_seconds gauge",
      "nodejs_eventloop_lag_p99_seconds 0.052",
      "# TYPE nodejs_gc_duration_seconds histogram",
      'nodejs_gc_duration_seconds_count{kind="minor"} 8',
      'nodejs_version_info{version="v20.20.2",major="20",minor="20",patch="2"} 1',
    ]);
  });

  it("keeps each metric of prom-client's expositions in one group, a series only a later thread has inside it", async () => {
    const exposition = async (extraKind: boolean) => {
      const registry = new client.Registry();
      const gauge = new client.Gauge({ name: "herald_subscriptions", help: "Subscriptions.", labelNames: ["type"], registers: [registry] });
      gauge.set({ type: "public" }, 2);
      if (extraKind) gauge.set({ type: "presence" }, 5);
      new client.Counter({ name: "herald_messages_sent_total", help: "Sent.", registers: [registry] }).inc(3);
      return registry.metrics();
    };
    const merged = mergeExpositions([await exposition(false), await exposition(true)]);
    expect(merged).toBe(
      [
        "# HELP herald_subscriptions Subscriptions.",
        "# TYPE herald_subscriptions gauge",
        'herald_subscriptions{type="public"} 4',
        'herald_subscriptions{type="presence"} 5',
        "",
        "# HELP herald_messages_sent_total Sent.",
        "# TYPE herald_messages_sent_total counter",
        "herald_messages_sent_total 6",
        "",
      ].join("\n"),
    );
  });

  it("carries a dead thread's counters and histograms, not its gauges nor the process's own", () => {
    const dead = [
      "# TYPE herald_connections gauge",
      "herald_connections 4",
      "# TYPE herald_connections_opened_total counter",
      "herald_connections_opened_total 9",
      "# TYPE herald_publish_latency_seconds histogram",
      'herald_publish_latency_seconds_bucket{le="+Inf"} 3',
      "herald_publish_latency_seconds_count 3",
      "# TYPE process_cpu_seconds_total counter",
      "process_cpu_seconds_total 12",
    ].join("\n");
    const carried = countersOf(dead);
    expect(lines(carried)).toEqual([
      "# TYPE herald_connections_opened_total counter",
      "herald_connections_opened_total 9",
      "# TYPE herald_publish_latency_seconds histogram",
      'herald_publish_latency_seconds_bucket{le="+Inf"} 3',
      "herald_publish_latency_seconds_count 3",
    ]);
    const newThread = ["# TYPE herald_connections gauge", "herald_connections 1", "# TYPE herald_connections_opened_total counter", "herald_connections_opened_total 1"].join("\n");
    expect(lines(mergeExpositions([newThread, carried]))).toContain("herald_connections_opened_total 10");
    expect(lines(mergeExpositions([newThread, carried]))).toContain("herald_connections 1");
  });
});
