/**
 * Debian's chromium, driven by playwright-core, headless: what a person sees of
 * the console. Never a browser download.
 */
import { chromium, type Browser, type BrowserContext } from "playwright-core";

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

/**
 * One chromium per test process (files run one after another in it), started when first
 * asked for and ended with the process (playwright closes what it launched); each caller
 * gets a context of its own, as fresh as a new profile: no token or storage leaks between
 * tests. A launch costs about 1.4 s of CPU more than a context.
 */
let shared: Promise<Browser> | undefined;

export async function newBrowserContext(): Promise<BrowserContext> {
  shared ??= chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS }).then(
    (browser) => browser.on("disconnected", () => (shared = undefined)),
    (error: unknown) => {
      shared = undefined;
      throw error;
    },
  );
  return (await shared).newContext({ viewport: { width: 1440, height: 900 } });
}
