/** A process's own CPU time and memory, read from /proc (Linux). */
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux this runs on (getconf CLK_TCK)

export interface CpuTime {
  userMs: number;
  systemMs: number;
}

export function cpuTime(pid: number): CpuTime {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return { userMs: (Number(fields[11]) * 1000) / TICKS_PER_SECOND, systemMs: (Number(fields[12]) * 1000) / TICKS_PER_SECOND };
}

export function cpuSince(pid: number, start: CpuTime): CpuTime {
  const now = cpuTime(pid);
  return { userMs: now.userMs - start.userMs, systemMs: now.systemMs - start.systemMs };
}

/** Resident set size in KB. */
export function rssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) : NaN;
}

/** The soft open-file limit of this process, which children inherit. */
export function openFileLimit(): number {
  const match = /Max open files\s+(\d+)/.exec(readFileSync("/proc/self/limits", "utf8"));
  return match ? Number(match[1]) : Infinity;
}
