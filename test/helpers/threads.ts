/** Which worker thread a socket landed on, told by its socket_id. */
import { RawClient } from "./clients.js";

/** The thread a socket_id came from: its node number, one per thread. */
export const nodeOf = (socketId: string) => socketId.split(".")[0];

/** How many threads 12 new connections reached. */
export async function threadsReached(port: number): Promise<number> {
  const probes = await Promise.all(Array.from({ length: 12 }, () => RawClient.connect(port)));
  const ids = await Promise.all(probes.map((probe) => probe.socketId()));
  for (const probe of probes) probe.close();
  return new Set(ids.map(nodeOf)).size;
}
