/**
 * Cluster timings for tests that wait for a node to be taken for dead, or for
 * Redis to come back (HERALD_TEST_TIMINGS, see src/timings.ts). The reconnect
 * delay stays at a second: a node resyncs two of them after its reconnect, and
 * the others' pub/sub must be back by then to hear what it announces.
 * Here, apart from the vitest helpers, so that `npm run fuzz` can use them too.
 */
export const FAST_TIMINGS = { departureHoldMs: 500, heartbeatMs: 250, deadAfterMs: 1500, reconnectDelayMs: 1000, countsRefreshMs: 500 };
export const FAST_TIMINGS_ENV = { HERALD_TEST_TIMINGS: JSON.stringify(FAST_TIMINGS) };
