/**
 * Start-up as a user meets it: settings from flags and environment, one log
 * line when listening, and a fast, named failure for every bad start.
 */
import { createServer, type AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { RawClient, serverSdk } from "./helpers/clients.js";
import { DEMO_APP, runHerald, startHerald, writeAppsFile } from "./helpers/herald.js";
import { signedUrl } from "./helpers/signed-requests.js";


describe("start-up", () => {
  it("logs one line with the address and the number of apps", async () => {
    const herald = await startHerald({ apps: [DEMO_APP, { id: "2", key: "k2", secret: "s2" }] });
    const lines = herald.logs.filter((line) => line.msg.startsWith("Herald listening"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ host: "127.0.0.1", port: herald.port, apps: 2 });
    await herald.stop();
  });

  it("takes settings from environment variables, and flags over them", async () => {
    const appsFile = writeAppsFile({ apps: [DEMO_APP] });
    const herald = await startHerald({ env: { HERALD_PATH_PREFIX: "/pusher", HERALD_APPS_FILE: "/does/not/matter" }, args: ["--apps", appsFile] });
    const client = await RawClient.connect(herald.port, "app-key", "?protocol=7", {}, "/pusher");
    await client.event("pusher:connection_established");
    client.close();
    const response = await fetch(`http://127.0.0.1:${herald.port}/app/app-key`);
    expect(response.status).toBe(404);
    // The HTTP API answers under the prefix (behind a proxy) and at the root (the SDKs, directly),
    // signed on the path without the prefix either way.
    const sdk = serverSdk(herald.port, DEMO_APP);
    expect(await (await sdk.get({ path: "/channels" })).json()).toEqual({ channels: {} });
    const prefixed = await fetch(signedUrl(`http://127.0.0.1:${herald.port}/pusher`, DEMO_APP, "GET", "/apps/app-id/channels"));
    expect(prefixed.status).toBe(200);
    await herald.stop();
  });

  it("reads HERALD_PORT and HERALD_HOST", async () => {
    const appsFile = writeAppsFile({ apps: [DEMO_APP] });
    const probe = await startHerald();
    const port = probe.port;
    await probe.stop();
    const run = runHerald([], { HERALD_PORT: String(port), HERALD_HOST: "127.0.0.1", HERALD_APPS_FILE: appsFile }, 10_000, undefined, "Herald listening");
    const { output } = await run;
    expect(output).toContain(`Herald listening on 127.0.0.1:${port} with 1 app`);
  });

  it("refuses to share a port with another server", async () => {
    const first = await startHerald();
    const appsFile = writeAppsFile({ apps: [DEMO_APP] });
    const second = await runHerald(["--host", "127.0.0.1", "--port", String(first.port), "--apps", appsFile]);
    expect(second.code).toBe(1);
    expect(second.output).toContain(`Cannot listen on 127.0.0.1:${first.port}`);
    await first.stop();
  });

  // On worker threads every thread must close what it holds before the process exits, or Node aborts.
  it.each([
    { on: "one thread", workers: [] },
    { on: "two worker threads", workers: ["--workers", "2"] },
  ])("refuses to start when the metrics port is taken, saying how to choose another ($on)", async ({ workers }) => {
    const taken = createServer();
    await new Promise<void>((listening) => taken.listen(0, "127.0.0.1", listening));
    const { port } = taken.address() as AddressInfo;
    const appsFile = writeAppsFile({ apps: [DEMO_APP] });
    const run = await runHerald(["--host", "127.0.0.1", "--port", "0", "--metrics-port", String(port), "--apps", appsFile, ...workers]);
    taken.close();
    expect(run.code).toBe(1);
    expect(run.output).toContain(`Cannot serve metrics on 127.0.0.1:${port}: the port is in use. Choose another with --metrics-port`);
  });

  it("refuses to run on uWebSockets.js's JavaScript fallback", async () => {
    const appsFile = writeAppsFile({ apps: [DEMO_APP] });
    const run = await runHerald(["--port", "0", "--apps", appsFile], { UWS_USE_FALLBACK: "1" });
    expect(run.code).toBe(1);
    expect(run.output).toContain("fell back to a JavaScript emulation");
  });

  it("names the file, the app and the field of an invalid apps file", async () => {
    const cases: Array<[string, string]> = [
      ["{ not json", "not valid JSON"],
      [JSON.stringify({ apps: [{ id: "a", key: "k", secret: "" }] }), 'app #1 (id "a"): field "secret"'],
      [JSON.stringify({ apps: [{ id: "a", key: "k", secret: "s" }, { id: "a", key: "k2", secret: "s" }] }), 'app #2 (id "a"): field "id" duplicates'],
      [JSON.stringify({ apps: [{ id: "a", key: "k", secret: "s" }, { id: "b", key: "k", secret: "s" }] }), 'field "key" duplicates'],
      [JSON.stringify({ apps: [{ id: "a", key: "k", secret: "s", maxConnections: "many" }] }), 'field "maxConnections"'],
    ];
    // Side by side, as one after another they took up to 10 s on a loaded machine.
    const files = cases.map(([content]) => writeAppsFile(content));
    const runs = await Promise.all(files.map((file) => runHerald(["--port", "0", "--apps", file])));
    for (const [i, [content, message]] of cases.entries()) {
      expect(runs[i]!.code, content).toBe(1);
      expect(runs[i]!.output).toContain(files[i]);
      expect(runs[i]!.output).toContain(message);
    }
  });

  it("fails on a missing apps file, saying how to point at one", async () => {
    const run = await runHerald(["--port", "0", "--apps", "/nonexistent/apps.json"]);
    expect(run.code).toBe(1);
    expect(run.output).toContain("/nonexistent/apps.json: does not exist");
  });

  it("warns about unknown fields by name and starts anyway", async () => {
    const herald = await startHerald({ apps: [{ ...DEMO_APP, enableClientMesages: true }] });
    expect(herald.logs.some((line) => line.level === 40 && line.msg.includes('unknown field "enableClientMesages"'))).toBe(true);
    await herald.stop();
  });

  it("rejects unknown flags and bad numbers with usage", async () => {
    const run = await runHerald(["--prot", "1"]);
    expect(run.code).toBe(2);
    expect(run.output).toContain("--port <number>");
    const bad = await runHerald(["--port", "seventy"]);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain("--port / HERALD_PORT must be a whole number");
  });

  it.each([
    [["--redis", "http://localhost:6379"], "--redis / HERALD_REDIS_URL must be a redis:// or rediss:// URL"],
    [["--redis-sentinels", "sentinel-without-port"], '"sentinel-without-port" is not host:port'],
    [["--log-level", "loud"], "--log-level / HERALD_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent"],
    [["--max-connections", "0"], "--max-connections / HERALD_MAX_CONNECTIONS must be a whole number from 1"],
  ])("rejects settings it cannot use: %j", async (args, message) => {
    const run = await runHerald(args);
    expect(run.code).toBe(2);
    expect(run.output).toContain(message);
  });

  it("fails with a message naming the address when Redis cannot be reached", { timeout: 20_000 }, async () => {
    const run = await runHerald(["--port", "0", "--redis", "redis://:secret@127.0.0.1:1/0"], {}, 15_000);
    expect(run.code).toBe(1);
    expect(run.output).toContain("Cannot reach Redis at redis://:***@127.0.0.1:1/0");
    expect(run.output).not.toContain("secret");
    // The client's own message may end with a full stop; the sentence after it adds none.
    expect(run.output).not.toContain("..");
  });

  it("loads the committed apps.json from the working directory by default", async () => {
    const run = await runHerald(["--port", "0", "--host", "127.0.0.1"], {}, 10_000, undefined, "Herald listening");
    expect(run.output).toContain("with 1 app from apps.json");
  });
});
