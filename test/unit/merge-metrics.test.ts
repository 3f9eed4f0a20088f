/** One /metrics for the threads of a process. */
import { describe, expect, it } from "vitest";
import { mergeExpositions } from "../../src/metrics/merge.js";

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
    expect(mergeExpositions(threads).split("\n")).toEqual(["herald_redis_up 0", "herald_redis_round_trip_seconds 0.005", "herald_redis_messages_not_sent_total 3"]);
  });
});
