/**
 * One Herald per port. Worker threads share their port with SO_REUSEPORT, so a second
 * Herald could share it silently; every Herald process therefore holds a lock, an
 * abstract Unix socket named after the port, and a second one is refused.
 */
import { createServer, type Server } from "node:net";

/** The port locks, held for the life of the process (unref'd: they never keep it running). */
const heldLocks: Server[] = [];

/** The lock's abstract Unix socket name (the leading NUL keeps it off the file system). */
export function portLockPath(port: number): string {
  return `\0herald-port-${port}`;
}

/** Takes the port's lock; null when another Herald holds it. */
export function lockPort(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const lock = createServer();
    lock.once("error", () => resolve(null));
    lock.listen({ path: portLockPath(port) }, () => {
      heldLocks.push(lock.unref());
      resolve(lock);
    });
  });
}
