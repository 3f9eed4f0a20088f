/**
 * Reading a cgroup's CPU cap from the layouts a container meets. test/workers-auto.test.ts runs
 * Herald in real cgroups of the machine's own kind; these are the kinds a machine has only one of
 * (this one has v1's cpu hierarchy; Debian 12 and Docker today have v2), written as the kernel
 * shows them: /proc/self/cgroup, /proc/self/mountinfo and the files of each group.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { cgroupCpuQuota } from "../../src/cpu-quota.js";
import { tempDir } from "../helpers/temp-dir.js";

/** A root with the given files (path → content). */
function machine(files: Record<string, string>): string {
  const root = tempDir("cgroups");
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const V2_MOUNT = "35 28 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

describe("cgroupCpuQuota", () => {
  it("reads cgroup v2's cpu.max inside a container's cgroup namespace (docker run --cpus 2.5)", () => {
    const root = machine({
      "proc/self/cgroup": "0::/\n",
      "proc/self/mountinfo": `1 0 0:1 / / rw - overlay overlay rw\n${V2_MOUNT}`,
      "sys/fs/cgroup/cpu.max": "250000 100000\n",
    });
    expect(cgroupCpuQuota(root)).toBe(2.5);
  });

  it("takes the smallest cap from the process's group up to the root (systemd's CPUQuota on a slice)", () => {
    const root = machine({
      "proc/self/cgroup": "0::/herald.slice/herald.service\n",
      "proc/self/mountinfo": V2_MOUNT,
      "sys/fs/cgroup/herald.slice/cpu.max": "100000 100000\n",
      "sys/fs/cgroup/herald.slice/herald.service/cpu.max": "max 100000\n",
    });
    expect(cgroupCpuQuota(root)).toBe(1);
  });

  it("reads v1's quota over its period where the mount shows only the container's group (Docker without a cgroup namespace)", () => {
    const id = "docker/4f1c2a";
    const root = machine({
      "proc/self/cgroup": `12:pids:/${id}\n4:cpu,cpuacct:/${id}\n0::/${id}\n`,
      "proc/self/mountinfo": `40 31 0:37 /${id} /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n41 31 0:38 /${id} /sys/fs/cgroup/cpuset ro - cgroup cgroup rw,cpuset\n`,
      "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "200000\n",
      "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
      // The cpuset hierarchy is not the cpu one: its files are not read.
      "sys/fs/cgroup/cpuset/cpu.cfs_quota_us": "50000\n",
      "sys/fs/cgroup/cpuset/cpu.cfs_period_us": "100000\n",
    });
    expect(cgroupCpuQuota(root)).toBe(2);
  });

  it("finds no cap where none is set, where cgroups cannot be read, or where the group is outside the mount", () => {
    const unlimited = machine({
      "proc/self/cgroup": "4:cpu,cpuacct:/user.slice\n0::/user.slice\n",
      "proc/self/mountinfo": `${V2_MOUNT}32 31 0:29 / /sys/fs/cgroup/cpu\\040acct rw - cgroup cgroup rw,cpu\n`,
      "sys/fs/cgroup/user.slice/cpu.max": "max 100000\n",
      "sys/fs/cgroup/cpu acct/user.slice/cpu.cfs_quota_us": "-1\n",
      "sys/fs/cgroup/cpu acct/user.slice/cpu.cfs_period_us": "100000\n",
    });
    expect(cgroupCpuQuota(unlimited)).toBeUndefined();
    expect(cgroupCpuQuota(machine({}))).toBeUndefined();
    const outside = machine({
      "proc/self/cgroup": "0::/../other\n",
      "proc/self/mountinfo": V2_MOUNT,
      "sys/fs/other/cpu.max": "100000 100000\n",
      "sys/fs/cgroup/cpu.max": "300000 100000\n",
    });
    expect(cgroupCpuQuota(outside)).toBeUndefined();
  });

  it("reads a mount point with a space in it (mountinfo writes it \\040)", () => {
    const root = machine({
      "proc/self/cgroup": "4:cpu,cpuacct:/limited\n",
      "proc/self/mountinfo": "32 31 0:29 / /sys/fs/cgroup/cpu\\040acct rw - cgroup cgroup rw,cpu\n",
      "sys/fs/cgroup/cpu acct/limited/cpu.cfs_quota_us": "50000\n",
      "sys/fs/cgroup/cpu acct/limited/cpu.cfs_period_us": "100000\n",
    });
    expect(cgroupCpuQuota(root)).toBe(0.5);
  });
});
