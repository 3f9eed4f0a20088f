import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file starts its own Herald processes on free ports, so files can run side by side.
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
