import { readFileSync } from "node:fs";
import type { Logger } from "./logger.js";

/**
 * Every connection holds a file descriptor: a low open-file limit is the first
 * wall a busy server hits, and it fails with errors that do not name it.
 */
export function reportOpenFileLimit(log: Logger, maxConnections: number): void {
  let limit: number | undefined;
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    limit = line?.[1] === "unlimited" ? Infinity : Number(line?.[1]);
  } catch {
    return; // not Linux
  }
  if (limit === undefined || Number.isNaN(limit)) return;
  const wanted = maxConnections >= 0 ? maxConnections + 100 : 10_000;
  if (limit < wanted) {
    log.warn({ openFileLimit: limit }, `the open-file limit is ${limit}: each connection needs one, so about ${Math.max(limit - 100, 0)} connections fit; raise it (ulimit -n, LimitNOFILE, docker --ulimit nofile=...)`);
  } else {
    log.info({ openFileLimit: limit }, `open-file limit ${limit}`);
  }
}
