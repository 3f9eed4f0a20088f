/**
 * Runs before each test file. Files share their worker process and its module cache
 * (vitest's `isolate: false`: a fresh process per file cost a third of the suite's
 * CPU), so what a file changes for the whole process is put back when it ends: the
 * Heralds it left running (a test that failed half-way), its environment variables
 * and vitest's fake timers; and its temporary folders are removed.
 */
import { afterAll, afterEach, beforeEach, vi } from "vitest";
import { forgetExitedHeralds, heraldLogsSince, stopLeftoverHeralds } from "./helpers/herald.js";
import { removeTempDirs } from "./helpers/temp-dir.js";

const environment = { ...process.env };

// A test that fails prints what the Heralds that ran during it logged: a failure
// that a busy machine brings out once in many runs is then read, not guessed at.
let testStarted = 0;
beforeEach(() => {
  testStarted = Date.now();
  forgetExitedHeralds(testStarted);
});
afterEach(({ task }) => {
  if (task.result?.state !== "fail") return;
  const trail = heraldLogsSince(testStarted);
  if (trail) console.error(`"${task.name}" failed. ${trail}`);
});

afterAll(async () => {
  await stopLeftoverHeralds();
  removeTempDirs();
  vi.useRealTimers();
  for (const name of Object.keys(process.env)) if (!(name in environment)) delete process.env[name];
  Object.assign(process.env, environment);
});
