/**
 * Debian's chromium, driven by playwright-core, headless: what a person sees of
 * the console. Never a browser download.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A fresh browser profile each time, so no token or storage leaks between tests. */
export async function launchBrowser(): Promise<BrowserContext> {
  const userDataDir = mkdtempSync(join(tmpdir(), "herald-chromium-"));
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1440, height: 900 },
  });
}
