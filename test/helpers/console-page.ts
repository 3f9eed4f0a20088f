/** The console's browser tests: a Herald with its ops port, a page on it, and what its log shows. */
import type { BrowserContext, Page } from "playwright-core";
import { freePort } from "./redis-server.js";
import { DEMO_APP, startHerald, type AppConfig, type Herald } from "./herald.js";

export const OTHER_APP: AppConfig = { id: "other-app", key: "other-key", secret: "other-secret" };

export async function startWithConsole(args: string[] = [], apps: AppConfig[] = [DEMO_APP, OTHER_APP], env: Record<string, string> = {}): Promise<Herald> {
  return startHerald({ apps, args: ["--metrics-port", String(await freePort()), ...args], env });
}

export async function openConsole(browser: BrowserContext, herald: Herald, appId = DEMO_APP.id): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${herald.opsPort}/`);
  await page.getByLabel("App").selectOption(appId);
  await page.getByText("feed live").waitFor();
  return page;
}

/** The log's entries as the page shows them, one line of text each. */
export function logLines(page: Page): Promise<string[]> {
  return page.locator(".entries > li .line").allInnerTexts();
}

export async function waitForLine(page: Page, ...parts: string[]): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const line = (await logLines(page)).find((text) => parts.every((part) => text.includes(part)));
    if (line) return line;
    if (Date.now() > deadline) {
      const header = await page.locator("header").innerText();
      throw new Error(`no log line with ${JSON.stringify(parts)} (${header}); the log shows:\n${(await logLines(page)).join("\n")}`);
    }
    await page.waitForTimeout(25);
  }
}

/** Fills the event creator (Channel, Event, Data) as a person would, and presses Send. */
export async function sendFromCreator(page: Page, channel: string, event: string, data: string): Promise<void> {
  await page.getByLabel("Channel", { exact: true }).fill(channel);
  await page.getByLabel("Event", { exact: true }).fill(event);
  await page.getByLabel("Data").fill(data);
  await page.getByRole("button", { name: "Send" }).click();
}
