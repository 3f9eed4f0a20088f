/**
 * One /metrics for a process with worker threads: each thread renders its own
 * exposition (the main thread its runtime's and its restarts), and the first
 * thread's is the base. A series is the same series in two threads when its name
 * and labels are. How threads' values make the process's:
 * - process_* and nodejs_version_info describe the process, whichever thread reads
 *   them (CPU, RSS and open files are the process's): the first thread's;
 * - the event-loop lag: the slowest thread's (each thread has its own loop, and a
 *   stalled one is what the gauge is for);
 * - the Redis link's gauges (with --redis each thread has its own link): up only if
 *   every thread's is, the slowest round trip;
 * - everything else is summed: Herald's counts, and each thread's heap, garbage
 *   collections and handles (a V8 heap per thread: the process's is their sum).
 */

type Combine = (a: number, b: number) => number;
const sum: Combine = (a, b) => a + b;
const COMBINE: Readonly<Record<string, Combine>> = { herald_redis_up: Math.min, herald_redis_round_trip_seconds: Math.max };
const PROCESS_WIDE = /^(process_|nodejs_version_info$)/;
const combineOf = (family: string): Combine => COMBINE[family] ?? (family.startsWith("nodejs_eventloop_lag_") ? Math.max : sum);

/** A metric's HELP and TYPE lines, and its series (name with labels) with their values as written. */
interface Family {
  readonly meta: string[];
  readonly samples: Map<string, string>;
}

/** The families of an exposition in order; a sample belongs to the last TYPE it follows, if its name extends it. */
function familiesOf(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (name: string) => families.get(name) ?? families.set(name, { meta: [], samples: new Map() }).get(name)!;
  let current: string | undefined;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const [, kind, name] = line.split(" ", 3);
      if ((kind === "HELP" || kind === "TYPE") && name !== undefined) {
        current = name;
        familyOf(name).meta.push(line);
      }
      continue;
    }
    const space = line.lastIndexOf(" ");
    const series = line.slice(0, space);
    const name = series.split("{", 1)[0]!;
    if (current === undefined || !name.startsWith(current)) current = name;
    familyOf(current).samples.set(series, line.slice(space + 1));
  }
  return families;
}

/** Renders families as prom-client does: each its HELP, TYPE and samples, a blank line between. */
function render(families: Iterable<Family>): string {
  return `${[...families].map(({ meta, samples }) => [...meta, ...[...samples].map(([series, value]) => `${series} ${value}`)].join("\n")).join("\n\n")}\n`;
}

/**
 * The counters (and histograms) of a thread's exposition, but the process's own: what
 * a thread that died had counted, carried into the process's sums from then on so they
 * never go down (Prometheus would read a fall as a reset and count the rest again).
 */
export function countersOf(text: string): string {
  const counting = [...familiesOf(text)].filter(([name, { meta }]) => !PROCESS_WIDE.test(name) && meta.some((line) => /^# TYPE \S+ (counter|histogram|summary)$/.test(line)));
  return counting.length === 0 ? "" : render(counting.map(([, family]) => family));
}

/** Merges expositions, the first thread's first: its families keep their order, and families only others have follow. */
export function mergeExpositions(texts: readonly string[]): string {
  if (texts.length <= 1) return texts[0] ?? "";
  const [first, ...others] = texts.map(familiesOf);
  for (const families of others) {
    for (const [name, family] of families) {
      const merged = first!.get(name);
      if (merged === undefined) {
        first!.set(name, { meta: [...family.meta], samples: new Map(family.samples) });
        continue;
      }
      if (PROCESS_WIDE.test(name)) continue;
      const combine = combineOf(name);
      for (const [series, value] of family.samples) {
        const before = merged.samples.get(series);
        merged.samples.set(series, before === undefined ? value : String(combine(Number(before), Number(value))));
      }
    }
  }
  return render(first!.values());
}
