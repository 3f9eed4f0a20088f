/** Coming from Soketi or Reverb: their app configuration, read as it is. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RawClient } from "./helpers/clients.js";
import { runHerald, startHerald } from "./helpers/herald.js";
import { tempDir } from "./helpers/temp-dir.js";

function soketiConfig(content: unknown): string {
  const file = join(tempDir("soketi"), "config.json");
  writeFileSync(file, JSON.stringify(content));
  return file;
}

const soketiApp = { id: "soketi-id", key: "soketi-key", secret: "soketi-secret", enableClientMessages: true, maxConnections: 100 };

describe("a Soketi config (--soketi-config)", () => {
  it.each([
    ["nested", { port: 6001, appManager: { driver: "array", array: { apps: [soketiApp] } } }],
    ["with the dotted key", { "appManager.array.apps": [soketiApp], debug: true }],
  ])("gives Herald its apps (%s)", async (_, content) => {
    const file = soketiConfig(content);
    const herald = await startHerald({ apps: null, args: ["--soketi-config", file] });
    expect(herald.logs.find((line) => line.msg.startsWith("Herald listening"))?.msg).toContain(`with 1 app from ${file}`);
    const client = await RawClient.connect(herald.port, "soketi-key");
    await client.socketId();
    client.close();
    await herald.stop();
  });

  it("names the problem when it has no array app manager", async () => {
    const file = soketiConfig({ appManager: { driver: "mysql" } });
    const run = await runHerald(["--port", "0", "--soketi-config", file]);
    expect(run.code).toBe(1);
    expect(run.output).toContain("no appManager.array.apps list");
  });
});

describe("the one app of the environment (Reverb's variables, or Herald's own)", () => {
  it("becomes the one app when no apps file is given", async () => {
    const herald = await startHerald({
      apps: null,
      env: { REVERB_APP_ID: "reverb-id", REVERB_APP_KEY: "reverb-key", REVERB_APP_SECRET: "reverb-secret" },
    });
    expect(herald.logs.find((line) => line.msg.startsWith("Herald listening"))?.msg).toContain("with 1 app from the REVERB_APP_* environment");
    const client = await RawClient.connect(herald.port, "reverb-key");
    await client.socketId();
    client.close();
    await herald.stop();
  });

  it("needs all three variables", async () => {
    const run = await runHerald(["--port", "0"], { REVERB_APP_KEY: "only-the-key" });
    expect(run.code).toBe(2);
    expect(run.output).toContain("needs all of REVERB_APP_ID, REVERB_APP_KEY and REVERB_APP_SECRET");
  });

  it("takes Herald's own HERALD_APP_* before Reverb's, and says how to give apps when there are none", async () => {
    const herald = await startHerald({
      apps: null,
      env: { HERALD_APP_ID: "own-id", HERALD_APP_KEY: "own-key", HERALD_APP_SECRET: "own-secret", REVERB_APP_ID: "r", REVERB_APP_KEY: "r", REVERB_APP_SECRET: "r" },
    });
    try {
      expect(herald.logs.find((line) => line.msg.startsWith("Herald listening"))?.msg).toContain("with 1 app from the HERALD_APP_* environment");
      const client = await RawClient.connect(herald.port, "own-key");
      await client.socketId();
      client.close();
    } finally {
      await herald.stop();
    }
    const run = await runHerald(["--port", "0"], { HERALD_APPS_FILE: "", HERALD_APP_ID: "" }, 10_000, tempDir("empty"));
    expect(run.code).toBe(1);
    expect(run.output).toContain("apps.json: does not exist");
    expect(run.output).toContain("HERALD_APP_ID, HERALD_APP_KEY and HERALD_APP_SECRET");
  });
});
