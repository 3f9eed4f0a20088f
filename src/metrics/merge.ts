/**
 * One /metrics for a process with worker threads: each thread renders its own
 * exposition, and Herald's series (herald_*) are summed over the threads, the same
 * series being the same labels; the process-wide ones (process_*, nodejs_*) are the
 * first thread's, since every thread reports the same process.
 */

/** Merges expositions, the first thread's first; its HELP and TYPE lines are kept. */
export function mergeExpositions(texts: readonly string[]): string {
  const [first, ...others] = texts;
  if (first === undefined) return "";
  const added = new Map<string, number>();
  for (const text of others) {
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#") || !line.startsWith("herald_")) continue;
      const space = line.lastIndexOf(" ");
      added.set(line.slice(0, space), (added.get(line.slice(0, space)) ?? 0) + Number(line.slice(space + 1)));
    }
  }
  const seen = new Set<string>();
  const lines = first.split("\n").map((line) => {
    if (line === "" || line.startsWith("#") || !line.startsWith("herald_")) return line;
    const space = line.lastIndexOf(" ");
    const series = line.slice(0, space);
    seen.add(series);
    const more = added.get(series);
    return more === undefined ? line : `${series} ${Number(line.slice(space + 1)) + more}`;
  });
  // A series only other threads have (an app only they served, say) still counts.
  const missing = [...added].filter(([series]) => !seen.has(series)).map(([series, value]) => `${series} ${value}`);
  if (missing.length === 0) return lines.join("\n");
  const end = lines.length > 0 && lines.at(-1) === "" ? lines.length - 1 : lines.length;
  return [...lines.slice(0, end), ...missing, ...lines.slice(end)].join("\n");
}
