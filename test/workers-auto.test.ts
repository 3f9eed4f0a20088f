/**
 * `--workers auto` in a container: one thread per CPU the process may use, where a cgroup's cap
 * on its CPU time (`docker run --cpus`, a Kubernetes CPU limit) counts as fewer CPUs. Run for real:
 * Herald starts inside a cgroup this test makes, as a container runtime starts it. That needs root
 * and a cgroup file system it may write (cgroup v2's with the cpu controller, or v1's cpu
 * hierarchy); without them the cgroup cases are skipped, saying why.
 */
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEMO_APP, runHerald, writeAppsFile } from "./helpers/herald.js";

/** Where this machine lets a test make cgroups with a CPU cap: tried, with a group made and removed. */
function cgroupRoot(): { dir: string; v2: boolean } | undefined {
  const candidates = [
    { dir: "/sys/fs/cgroup", v2: true },
    { dir: "/sys/fs/cgroup/cpu", v2: false },
    { dir: "/sys/fs/cgroup/cpu,cpuacct", v2: false },
  ];
  for (const candidate of candidates) {
    if (!existsSync(join(candidate.dir, candidate.v2 ? "cgroup.controllers" : "cpu.cfs_quota_us"))) continue;
    const probe = join(candidate.dir, `herald-probe-${process.pid}`);
    try {
      mkdirSync(probe);
      // Fails where the group may not hand the cpu controller down (a container's own root, say).
      if (candidate.v2) writeFileSync(join(candidate.dir, "cgroup.subtree_control"), "+cpu");
      writeFileSync(join(probe, candidate.v2 ? "cpu.max" : "cpu.cfs_quota_us"), candidate.v2 ? "100000 100000" : "100000");
      return candidate;
    } catch {
      // Not writable, or no cpu controller here: the next, or no cgroup cases.
    } finally {
      if (existsSync(probe)) rmdirSync(probe);
    }
  }
  return undefined;
}

const root = cgroupRoot();
const made: string[] = [];

/** A new cgroup under `parent` whose CPU time is capped at `cpus` (none: no cap of its own). */
function makeGroup(parent: string, name: string, cpus?: number): string {
  const dir = join(parent, name);
  mkdirSync(dir);
  made.push(dir);
  if (root!.v2) {
    // A group's children get the cpu controller only when the group hands it down.
    writeFileSync(join(parent, "cgroup.subtree_control"), "+cpu");
    if (cpus !== undefined) writeFileSync(join(dir, "cpu.max"), `${Math.round(cpus * 100_000)} 100000`);
  } else if (cpus !== undefined) {
    writeFileSync(join(dir, "cpu.cfs_period_us"), "100000");
    writeFileSync(join(dir, "cpu.cfs_quota_us"), String(Math.round(cpus * 100_000)));
  }
  return dir;
}

afterAll(() => {
  // Children first; a group can go once its processes have.
  for (const dir of made.reverse()) rmdirSync(dir);
});

/** Starts Herald with `--workers auto` inside `group` (none: where the test runs), and returns its log lines up to the one that says it listens. */
async function startUpLines(group?: string): Promise<Array<Record<string, unknown>>> {
  // Into the group before Node starts, as a container runtime puts a container's first process.
  const launcher = group ? ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', join(group, "cgroup.procs")] : [];
  const args = ["--host", "127.0.0.1", "--port", "0", "--apps", writeAppsFile({ apps: [DEMO_APP] }), "--workers", "auto"];
  const { code, output } = await runHerald(args, {}, 10_000, undefined, "Herald listening", launcher);
  expect(code, output).toBe(0);
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const autoLine = (lines: Array<Record<string, unknown>>) => lines.find((line) => String(line.msg).startsWith("--workers auto"));
const listening = (lines: Array<Record<string, unknown>>) => lines.find((line) => String(line.msg).startsWith("Herald listening"))!;

describe("--workers auto", () => {
  it("starts one thread per CPU the process may run on, and says so", async () => {
    const lines = await startUpLines();
    const counted = autoLine(lines)!;
    expect(counted).toMatchObject({ cpus: availableParallelism() });
    expect(counted.workers).toBeLessThanOrEqual(availableParallelism());
    // Where the test itself runs under a cap (a CI container), auto counts fewer, as the line says.
    const workers = counted.workers as number;
    if (workers > 1) expect(listening(lines)).toMatchObject({ workers });
    else expect(listening(lines).workers).toBeUndefined();
  });

  it.skipIf(!root)("counts a cgroup's cap on CPU time as that many CPUs, rounded down, at least one", async () => {
    const group = makeGroup(root!.dir, `herald-test-${process.pid}-capped`, 1.5);
    const lines = await startUpLines(group);
    expect(autoLine(lines)).toMatchObject({ workers: 1, cpus: availableParallelism(), cpuQuota: 1.5 });
    expect(autoLine(lines)!.msg).toContain("its cgroup caps its CPU time at 1.5 CPUs");
    // One thread: no worker threads at all.
    expect(listening(lines).workers).toBeUndefined();
  });

  it.skipIf(!root)("takes the cap of a parent group, and no more threads than CPUs under a larger cap", async () => {
    const parent = makeGroup(root!.dir, `herald-test-${process.pid}-parent`, 1);
    const inner = makeGroup(parent, "inner");
    expect(autoLine(await startUpLines(inner))).toMatchObject({ workers: 1, cpuQuota: 1 });

    const cpus = availableParallelism();
    const generous = makeGroup(root!.dir, `herald-test-${process.pid}-generous`, cpus + 0.5);
    const lines = await startUpLines(generous);
    expect(autoLine(lines)).toMatchObject({ workers: cpus, cpuQuota: cpus + 0.5 });
    if (cpus > 1) expect(listening(lines)).toMatchObject({ workers: cpus });
  });
});
