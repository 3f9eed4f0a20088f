/**
 * The CPU time this process's control groups allow it, in CPUs: `docker run --cpus 2`, a
 * Kubernetes CPU limit or systemd's CPUQuota=200% each read 2. `os.availableParallelism()`
 * counts the CPUs the process may run on (its affinity), not this cap: Node 20's libuv does
 * not read it (libuv 1.49, in Node 22, does). So `--workers auto` reads it here, from the
 * cgroup files themselves, v2 (`cpu.max`) and v1 (`cpu.cfs_quota_us` over `cpu.cfs_period_us`),
 * and takes the smallest cap on the way from the process's group up to the hierarchy's root:
 * a parent's cap holds for all its children.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Logger } from "./logger.js";

/** The cap in CPUs (1.5 for 150 ms of every 100 ms), or undefined when there is none or no Linux cgroups to read. `root`: where `/` is, for tests. */
export function cgroupCpuQuota(root = "/"): number | undefined {
  const groups = readText(join(root, "proc/self/cgroup"));
  const mounts = readText(join(root, "proc/self/mountinfo"));
  if (groups === undefined || mounts === undefined) return undefined;
  let least: number | undefined;
  for (const mount of cpuMounts(mounts)) {
    const path = groupPath(groups, mount.v2);
    if (path === undefined) continue;
    // Within a cgroup namespace the group reads "/" and the mount's root is "/" too; without one,
    // the mount may show only a part of the hierarchy (a container's own group, say).
    if (path !== mount.root && !path.startsWith(mount.root === "/" ? "/" : `${mount.root}/`)) continue;
    const relative = mount.root === "/" ? path : path.slice(mount.root.length);
    const top = resolve(join(root, mount.point));
    const own = resolve(join(top, relative));
    // A group outside what is mounted ("/.." from within another cgroup namespace) cannot be read.
    if (own !== top && !own.startsWith(`${top}/`)) continue;
    for (let dir = own; ; dir = dirname(dir)) {
      const cap = mount.v2 ? capV2(dir) : capV1(dir);
      if (cap !== undefined && (least === undefined || cap < least)) least = cap;
      if (dir === top || dirname(dir) === dir) break;
    }
  }
  return least;
}

interface CpuMount {
  readonly v2: boolean;
  /** The part of the hierarchy mounted there. */
  readonly root: string;
  readonly point: string;
}

/** The cgroup2 mounts and the v1 mounts that hold the cpu controller (proc(5), /proc/pid/mountinfo). */
function cpuMounts(mountinfo: string): CpuMount[] {
  const found: CpuMount[] = [];
  for (const line of mountinfo.split("\n")) {
    const [before, after] = line.split(" - ");
    if (before === undefined || after === undefined) continue;
    const fields = before.split(" ");
    const [type, , superOptions = ""] = after.split(" ");
    const root = unescape(fields[3] ?? "");
    const point = unescape(fields[4] ?? "");
    if (type === "cgroup2") found.push({ v2: true, root, point });
    else if (type === "cgroup" && superOptions.split(",").includes("cpu")) found.push({ v2: false, root, point });
  }
  return found;
}

/** The process's group in the v2 hierarchy (`0::/path`) or in the v1 one holding cpu (`4:cpu,cpuacct:/path`). */
function groupPath(groups: string, v2: boolean): string | undefined {
  for (const line of groups.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const matches = v2 ? line.slice(0, first) === "0" && controllers === "" : controllers.split(",").includes("cpu");
    if (matches) return line.slice(second + 1);
  }
  return undefined;
}

/** `cpu.max`: "max 100000" (no cap) or "150000 100000". */
function capV2(dir: string): number | undefined {
  const [quota, period] = (readText(join(dir, "cpu.max")) ?? "").trim().split(" ");
  return cap(quota, period);
}

/** `cpu.cfs_quota_us` (-1: no cap) over `cpu.cfs_period_us`. */
function capV1(dir: string): number | undefined {
  return cap(readText(join(dir, "cpu.cfs_quota_us"))?.trim(), readText(join(dir, "cpu.cfs_period_us"))?.trim());
}

function cap(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  return quota && period && q > 0 && p > 0 ? q / p : undefined;
}

/** mountinfo writes a space, tab, newline and backslash in a path as an octal escape (\040). */
function unescape(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Says at start what `--workers auto` counted, so that a container's cap is no surprise. */
export function reportAutoWorkers(log: Logger, workers: number, { cpus, cpuQuota }: { cpus: number; cpuQuota: number | undefined }): void {
  const plural = (n: number) => `${n} CPU${n === 1 ? "" : "s"}`;
  const why =
    cpuQuota !== undefined && cpuQuota < cpus
      ? `this process may run on ${plural(cpus)}, but its cgroup caps its CPU time at ${plural(cpuQuota)} (docker --cpus, a Kubernetes CPU limit)`
      : `one per CPU this process may run on${cpuQuota === undefined ? "" : `; its cgroup caps its CPU time at ${plural(cpuQuota)}`}`;
  log.info({ workers, cpus, cpuQuota }, `--workers auto: ${workers === 1 ? "no worker threads" : `${workers} worker threads`} (${why})`);
}
