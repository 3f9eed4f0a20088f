/**
 * One /metrics for a process with worker threads: each thread renders its own
 * exposition, and Herald's series (herald_*) are summed over the threads, the same
 * series being the same labels, except the Redis link's gauges (with --redis each
 * thread has its own link): up only if every thread's is, the slowest round trip.
 * The process-wide ones (process_*, nodejs_*) are the
 * first thread's, since every thread reports the same process.
 */

type Combine = (a: number, b: number) => number;
const sum: Combine = (a, b) => a + b;
const COMBINE: Readonly<Record<string, Combine>> = { herald_redis_up: Math.min, herald_redis_round_trip_seconds: Math.max };
/** How the threads' values of a series make the process's. */
const combineOf = (series: string): Combine => COMBINE[series.split("{", 1)[0]!] ?? sum;

/**
 * Merges expositions, the first thread's first; its HELP and TYPE lines are kept,
 * and the others' for metrics only they have (the main thread's restarts).
 */
export function mergeExpositions(texts: readonly string[]): string {
  const [first, ...others] = texts;
  if (first === undefined) return "";
  const added = new Map<string, number>();
  const described: string[] = [];
  for (const text of others) {
    for (const line of text.split("\n")) {
      if (/^# (HELP|TYPE) herald_/.test(line) && !`\n${first}`.includes(`\n${line.split(" ", 3).join(" ")} `) && !described.includes(line)) described.push(line);
      if (line === "" || line.startsWith("#") || !line.startsWith("herald_")) continue;
      const space = line.lastIndexOf(" ");
      const series = line.slice(0, space);
      const value = Number(line.slice(space + 1));
      const before = added.get(series);
      added.set(series, before === undefined ? value : combineOf(series)(before, value));
    }
  }
  const seen = new Set<string>();
  const lines = first.split("\n").map((line) => {
    if (line === "" || line.startsWith("#") || !line.startsWith("herald_")) return line;
    const space = line.lastIndexOf(" ");
    const series = line.slice(0, space);
    seen.add(series);
    const more = added.get(series);
    return more === undefined ? line : `${series} ${combineOf(series)(Number(line.slice(space + 1)), more)}`;
  });
  // A series only other threads have (an app only they served, say) still counts.
  const missing = [...added].filter(([series]) => !seen.has(series)).map(([series, value]) => `${series} ${value}`);
  if (missing.length === 0) return lines.join("\n");
  const end = lines.length > 0 && lines.at(-1) === "" ? lines.length - 1 : lines.length;
  return [...lines.slice(0, end), ...described, ...missing, ...lines.slice(end)].join("\n");
}
