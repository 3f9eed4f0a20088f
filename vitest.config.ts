import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file starts its own Herald processes on free ports, so files can run side by side.
    pool: "forks",
    // Most of a test's time is spent waiting on real servers and their timers, not on
    // the CPU: six files at once on two cores (vitest's default would be one).
    maxWorkers: 6,
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
