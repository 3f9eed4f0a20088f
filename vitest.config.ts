import { BaseSequencer, type TestSpecification } from "vitest/node";
import { defineConfig } from "vitest/config";

/**
 * The files that take longest, first. Vitest orders files by the durations of the last
 * run it remembers, which a fresh clone (CI) does not have; it then starts the largest
 * files first, and a short file that waits long (cluster-failures: 30 s of a node's
 * silence allowance) started late and kept the run going after the rest. Without the
 * remembered durations, on two cores: 84.7 s in that order, 80.3 and 73.0 s in this one
 * (71 to 78 s with them).
 */
const SLOWEST = ["cluster-shards", "cluster-failures", "cluster-shard-lost-record", "startup", "cli", "console-access", "console", "metrics", "webhooks", "cluster-state", "cluster-contract", "ops"];

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const index = SLOWEST.findIndex((name) => file.moduleId.endsWith(`/test/${name}.test.ts`));
      return index === -1 ? SLOWEST.length : index;
    };
    // Array.prototype.sort is stable: the rest keep vitest's order.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file starts its own Herald processes on free ports, so files can run side by side.
    pool: "forks",
    // A worker process runs file after file with its modules loaded once: a fresh
    // process per file cost a third of the suite's CPU (180 s against 130 s on two
    // cores). test/setup.ts puts back what a file changes for the whole process.
    isolate: false,
    setupFiles: ["test/setup.ts"],
    // Most of a test's time is spent waiting on real servers and their timers, not on
    // the CPU: six files at once on two cores (vitest's default would be one).
    maxWorkers: 6,
    sequence: { sequencer: SlowestFirst },
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
