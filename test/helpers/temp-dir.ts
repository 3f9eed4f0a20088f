/**
 * Folders a test file writes to (apps files, certificates, proxy and Redis
 * configuration): test/setup.ts removes them when the file ends, so a test run
 * leaves nothing in the machine's temporary folder.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const made: string[] = [];

/** A new empty folder, named `herald-<purpose>-…` under the temporary folder. */
export function tempDir(purpose: string): string {
  const dir = mkdtempSync(join(tmpdir(), `herald-${purpose}-`));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
