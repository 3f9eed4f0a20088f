/**
 * Runs before each test file. Files share their worker process and its module cache
 * (vitest's `isolate: false`: a fresh process per file cost a third of the suite's
 * CPU), so what a file changes for the whole process is put back when it ends: the
 * Heralds it left running (a test that failed half-way), its environment variables
 * and vitest's fake timers; and its temporary folders are removed.
 */
import { afterAll, vi } from "vitest";
import { stopLeftoverHeralds } from "./helpers/herald.js";
import { removeTempDirs } from "./helpers/temp-dir.js";

const environment = { ...process.env };

afterAll(async () => {
  await stopLeftoverHeralds();
  removeTempDirs();
  vi.useRealTimers();
  for (const name of Object.keys(process.env)) if (!(name in environment)) delete process.env[name];
  Object.assign(process.env, environment);
});
