import { defineConfig } from "vitest/config";

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
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
