/** Errors of the cluster layer, kept apart so a single process never loads the Redis client. */

/** Redis could not be reached when the node started. */
export class ClusterStartError extends Error {
  override name = "ClusterStartError";
}

/** Reads of cluster state failed (Redis unreachable); the HTTP API answers 503. */
export class ClusterStateUnavailable extends Error {
  override name = "ClusterStateUnavailable";
}
