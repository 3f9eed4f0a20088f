/**
 * socket_ids of the form `<node>.<sequence>` (Pusher's `^\d+\.\d+$`). The node part
 * is chosen once per process, so ids stay unique across restarts and, once the
 * cluster hands each node its own number, across nodes.
 */
export function socketIdGenerator(nodeNumber: number): () => string {
  if (!Number.isSafeInteger(nodeNumber) || nodeNumber < 0) throw new RangeError("nodeNumber must be a non-negative integer");
  let sequence = 0;
  const prefix = `${nodeNumber}.`;
  return () => prefix + String(++sequence);
}

export const SOCKET_ID = /^\d+\.\d+$/;
