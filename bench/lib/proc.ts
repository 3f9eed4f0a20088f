/** A process's own CPU time and memory, read from /proc (Linux). */
import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux this runs on (getconf CLK_TCK)

export interface CpuTime {
  userMs: number;
  systemMs: number;
  /**
   * User and system time together, in the scheduler's nanoseconds rather than
   * 10 ms clock ticks: a 2000-request run of 50 µs each is only ten ticks.
   */
  runMs: number;
  /**
   * Times a thread of the process went to sleep waiting (voluntary context switches,
   * every thread): each is a wake-up paid for later, by the waking thread and the woken
   * one (on this VM about 8 and 10-19 µs of CPU, `npm run bench:thread-wake`).
   */
  sleeps: number;
}

export function cpuTime(pid: number): CpuTime {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  const threads = threadTotals(pid);
  return { userMs: (Number(fields[11]) * 1000) / TICKS_PER_SECOND, systemMs: (Number(fields[12]) * 1000) / TICKS_PER_SECOND, runMs: threads.runNs / 1e6, sleeps: threads.sleeps };
}

/** Every thread's time on a CPU so far (/proc/PID/task/TID/schedstat: its first field), and its sleeps. */
function threadTotals(pid: number): { runNs: number; sleeps: number } {
  let runNs = 0;
  let sleeps = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      runNs += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
      sleeps += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${task}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return { runNs, sleeps };
}

export function cpuSince(pid: number, start: CpuTime): CpuTime {
  const now = cpuTime(pid);
  return { userMs: now.userMs - start.userMs, systemMs: now.systemMs - start.systemMs, runMs: now.runMs - start.runMs, sleeps: now.sleeps - start.sleeps };
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
