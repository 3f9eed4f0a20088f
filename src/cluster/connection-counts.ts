/**
 * Connections of each app on the other nodes, for the app's maxConnections. The
 * check runs on every WebSocket open and must not wait, so a cluster node
 * compares against counts refreshed every few seconds: the limit may be passed
 * by the connections opened within that time.
 */
export interface ConnectionCounts {
  /** Connections of the app on other nodes, as last seen. */
  elsewhere(appId: string): number;
}

/** A single process: there is nowhere else. */
export const NO_OTHER_NODES: ConnectionCounts = { elsewhere: () => 0 };
