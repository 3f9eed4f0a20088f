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
});
