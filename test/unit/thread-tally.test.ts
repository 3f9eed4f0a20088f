import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { ThreadSlots, ThreadTally } from "../../src/cluster/thread-tally.js";
import { tempDir } from "../helpers/temp-dir.js";

describe("the worker threads' shared counts", () => {
  it("tells each thread the others' connections, per app and in all, and forgets a dead thread's", () => {
    const slots = new ThreadSlots(3);
    const appSlots = slots.assign(["a", "b"]);
    const [zero, one, two] = [0, 1, 2].map((thread) => new ThreadTally(slots.buffer, thread, 3, appSlots)) as [ThreadTally, ThreadTally, ThreadTally];
    zero.counted("a", 2, 2);
    one.counted("a", 3, 3);
    one.counted("b", 1, 4);
    expect([zero.elsewhere("a"), one.elsewhere("a"), two.elsewhere("a")]).toEqual([3, 2, 5]);
    expect([zero.elsewhere("b"), two.elsewhereInProcess(), zero.elsewhereInProcess()]).toEqual([1, 6, 4]);
    slots.forget(1);
    expect([zero.elsewhere("a"), zero.elsewhere("b"), zero.elsewhereInProcess()]).toEqual([0, 0, 0]);
    // An app added by a reload gets a new slot; the others keep theirs.
    const reloaded = slots.assign(["b", "c"]);
    expect(reloaded).toEqual([["a", 0], ["b", 1], ["c", 2]]);
    zero.setSlots(reloaded);
    two.setSlots(reloaded);
    two.counted("c", 7, 7);
    expect(zero.elsewhere("c")).toBe(7);
    expect(zero.elsewhere("unknown")).toBe(0);
    // A console on one thread watching an app is known to the others at once, until its watch lapses.
    expect(two.watched("c")).toBe(false);
    zero.watch(["c"], 15);
    expect([two.watched("c"), two.watched("a")]).toEqual([true, false]);
    zero.watch(["c"], -1);
    expect(two.watched("c")).toBe(false);
  });

  it("shares an app's per-second allowance between threads, never granting more than the limit", async () => {
    const slots = new ThreadSlots(4);
    const appSlots = slots.assign(["a"]);
    const limit = 20_000;
    const second = Math.floor(Date.now() / 1000);
    // Four real threads race for the same allowance; a window without its lock grants more than the limit.
    // The threads load the module as JavaScript, built from the source here (dist holds it bundled with the rest).
    const outfile = join(tempDir("tally"), "thread-tally.js");
    await build({ entryPoints: [new URL("../../src/cluster/thread-tally.ts", import.meta.url).pathname], outfile, format: "esm", logLevel: "warning" });
    const module = pathToFileURL(outfile).href;
    const granted = await Promise.all(
      [0, 1, 2, 3].map(
        (thread) =>
          new Promise<number>((resolve, reject) => {
            const worker = new Worker(
              `const { workerData, parentPort } = require("node:worker_threads");
               import(workerData.module).then(({ ThreadTally }) => {
                 const window = new ThreadTally(workerData.buffer, workerData.thread, 4, workerData.slots).allowance("a", "backendEvents");
                 let granted = 0;
                 for (let i = 0; i < 10000; i++) if (window.tryTake(1, workerData.limit, workerData.second)) granted++;
                 parentPort.postMessage(granted);
               });`,
              { eval: true, workerData: { module, buffer: slots.buffer, thread, slots: appSlots, limit, second } },
            );
            worker.once("message", resolve);
            worker.once("error", reject);
          }),
      ),
    );
    expect(granted.reduce((sum, count) => sum + count, 0)).toBe(limit);
    // The next second starts a new window, for every thread.
    const window = new ThreadTally(slots.buffer, 0, 4, appSlots).allowance("a", "backendEvents")!;
    expect(window.tryTake(1, limit, second)).toBe(false);
    expect(window.tryTake(limit, limit, second + 1)).toBe(true);
    expect(new ThreadTally(slots.buffer, 1, 4, appSlots).allowance("a", "reads")!.tryTake(limit, limit, second + 1)).toBe(true);
  });
});
