import { BaseSequencer, type TestSpecification } from "vitest/node";
import { defineConfig } from "vitest/config";

/**
 * The files that take longest, longest first, so that no long file starts late and keeps
 * the run going after the rest. Vitest orders files by the durations of the last run it
 * remembers, which a fresh clone (CI) does not have; it then starts the largest files
 * first. Ranked by each file's time on two cores in both suites (`npm test`, then `npm run
 * test:workers`, 2026-12-08): the first three take 26 to 52 s each, the next eight 12 to 21
 * s (cluster-delivery 8 s on one thread, 21 s on two: it starts twelve nodes), the rest 4 to
 * 10 s. With the list stopping at the four slowest, cluster-outages started at 33 s and ended
 * last: `npm test` took 66 s in a fresh clone's order, 60 s in this one.
 */
const SLOWEST = [
  "cluster-shards", "cluster-failures", "cluster-outages", "cluster-state", "cluster-delivery", "metrics", "console",
  "cluster-contract", "console-access", "worker-restarts", "webhooks", "cluster-buffers", "cluster-shard-lost-record",
  "keepalive", "cluster-data-loss", "churn", "startup", "reload", "cli", "ops", "subscription-counts", "user-signin",
  "http-fallback-browser", "http-transport-edges",
];

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
