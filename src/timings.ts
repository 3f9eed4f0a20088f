/**
 * The durations some behaviours wait out, in one place. Production runs on the
 * defaults. The test suite shortens them with HERALD_TEST_TIMINGS, a JSON object
 * of some of these fields (e.g. {"heartbeatMs":250,"deadAfterMs":1500}): a
 * test-only setting, so a cluster's failure tests take seconds, not minutes.
 */
export interface Timings {
  /** How long channel_vacated and member_removed wait for the channel or user to come back. */
  readonly departureHoldMs: number;
  /** How often a cluster node beats into Redis. */
  readonly heartbeatMs: number;
  /** How long a node may stay silent before the others take it for dead. */
  readonly deadAfterMs: number;
  /** The longest wait between two reconnect attempts to Redis. */
  readonly reconnectDelayMs: number;
  /** How often cluster nodes exchange their connection counts (maxConnections). */
  readonly countsRefreshMs: number;
  /** How often a webhook that keeps losing events says so in the log, at most. */
  readonly dropLogIntervalMs: number;
  /** How long an HTTP fallback session lives without a receive request. */
  readonly sessionExpiryMs: number;
  /** How often the console's live stats take a sample. */
  readonly statsIntervalMs: number;
}

const DEFAULTS: Timings = { departureHoldMs: 3000, heartbeatMs: 3000, deadAfterMs: 10_000, reconnectDelayMs: 2000, countsRefreshMs: 3000, dropLogIntervalMs: 10_000, sessionExpiryMs: 5000, statsIntervalMs: 5000 };

export function readTimings(raw: string | undefined): Timings {
  if (!raw) return DEFAULTS;
  let given: unknown;
  try {
    given = JSON.parse(raw);
  } catch {
    throw new Error(`HERALD_TEST_TIMINGS is not JSON: ${raw}`);
  }
  const timings: Record<string, number> = { ...DEFAULTS };
  for (const [name, value] of Object.entries(given as Record<string, unknown>)) {
    if (!(name in DEFAULTS)) throw new Error(`HERALD_TEST_TIMINGS has an unknown field "${name}"; known: ${Object.keys(DEFAULTS).join(", ")}.`);
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw new Error(`HERALD_TEST_TIMINGS.${name} must be a whole number of milliseconds.`);
    timings[name] = value;
  }
  return timings as unknown as Timings;
}

export const TIMINGS: Timings = readTimings(process.env.HERALD_TEST_TIMINGS);
