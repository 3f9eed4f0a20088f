/** The `herald` command, run as a user runs it, against files and a running server. */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nextCall, pusherClient, RawClient, serverSdk, subscribed, type Pusher } from "./helpers/clients.js";
import { freePort } from "./helpers/redis-server.js";
import { DEMO_APP, runCli, startHerald, writeAppsFile, type Herald } from "./helpers/herald.js";

const CLI = resolve(import.meta.dirname, "../dist/cli.js");

function herald(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(CLI, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HERALD_METRICS_PORT: "0" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    // "close", not "exit": the output may still be on its way when the process has exited.
    child.once("close", (code) => done({ code, stdout, stderr }));
  });
}

describe("herald apps", () => {
  it("new adds apps with random, distinct credentials to a file that may not exist yet", async () => {
    const file = `${writeAppsFile({ apps: [] })}.new.json`;
    const first = await herald(["apps", "new", "--apps", file, "--name", "Shop", "--client-messages"]);
    expect(first).toMatchObject({ code: 0, stdout: expect.stringMatching(/Added app \d{6}/) });
    const second = await herald(["apps", "new", "--apps", file]);
    expect(second.code).toBe(0);
    const { apps } = JSON.parse(readFileSync(file, "utf8")) as { apps: Array<Record<string, unknown>> };
    expect(apps).toHaveLength(2);
    expect(apps[0]).toMatchObject({ name: "Shop", enableClientMessages: true, key: expect.stringMatching(/^[0-9a-f]{20}$/), secret: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(new Set(apps.flatMap((app) => [app.id, app.key, app.secret])).size).toBe(6);
    expect(first.stdout).toContain(String(apps[0]!.secret));
  });

  it("check says a file is valid, or names its problem and exits 1", async () => {
    expect(await herald(["apps", "check", writeAppsFile({ apps: [DEMO_APP] })])).toMatchObject({ code: 0, stdout: expect.stringContaining("1 app (app-id), valid") });
    const broken = await herald(["apps", "check", writeAppsFile({ apps: [DEMO_APP, { ...DEMO_APP, id: "other" }] })]);
    expect(broken).toMatchObject({ code: 1, stderr: expect.stringMatching(/herald: .*duplicates the key/) });
    const typo = await herald(["apps", "check", writeAppsFile({ apps: [{ ...DEMO_APP, maxConections: 5 }] })]);
    expect(typo).toMatchObject({ code: 0, stdout: expect.stringMatching(/warning: .*maxConections/) });
  });

  it("env prints the Laravel .env lines and the Echo config for an app", async () => {
    const file = writeAppsFile({ apps: [DEMO_APP] });
    const { code, stdout } = await herald(["apps", "env", "app-id", "--apps", file, "--host", "ws.example.com", "--port", "443", "--scheme", "https"]);
    expect(code).toBe(0);
    for (const line of ["BROADCAST_CONNECTION=pusher", "PUSHER_APP_ID=app-id", "PUSHER_APP_KEY=app-key", "PUSHER_APP_SECRET=app-secret", "PUSHER_HOST=ws.example.com", "PUSHER_PORT=443", "PUSHER_SCHEME=https", 'VITE_PUSHER_APP_KEY="${PUSHER_APP_KEY}"', "broadcaster: 'pusher'"]) {
      expect(stdout).toContain(line);
    }
    expect(await herald(["apps", "env", "nope", "--apps", file])).toMatchObject({ code: 2, stderr: expect.stringContaining('no app with the id "nope"') });
  });

  it("explains itself when used wrongly, with exit code 2", async () => {
    // Side by side: one after another, six starts passed the 20 s timeout on a loaded machine (CI).
    const [apps, frobnicate, bogus, appsHelp, triggerHelp, help] = await Promise.all(
      [["apps"], ["apps", "frobnicate"], ["apps", "new", "--bogus"], ["apps", "--help"], ["trigger", "--help"], ["--help"]].map((args) => herald(args)),
    );
    expect(apps).toMatchObject({ code: 2, stderr: expect.stringContaining("herald apps check") });
    expect(frobnicate).toMatchObject({ code: 2, stderr: expect.stringContaining('Unknown command "apps frobnicate"') });
    expect(bogus).toMatchObject({ code: 2, stderr: expect.stringContaining("--bogus") });
    expect(appsHelp).toMatchObject({ code: 0, stdout: expect.stringContaining("herald apps env ID") });
    expect(triggerHelp).toMatchObject({ code: 0, stdout: expect.stringContaining("--encryption-master-key") });
    expect(help).toMatchObject({ code: 0, stdout: expect.stringMatching(/herald trigger[\s\S]*--metrics-port/) });
  });
});

describe("herald trigger against a running server", () => {
  const MASTER_KEY = Buffer.alloc(32, 7).toString("base64");
  let server: Herald;
  let file: string;
  let url: string;
  const clients: Pusher[] = [];
  beforeAll(async () => {
    file = writeAppsFile({ apps: [DEMO_APP] });
    server = await startHerald({ apps: null, args: ["--apps", file] });
    url = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server.stop();
  });

  it("publishes a signed event that subscribers receive", async () => {
    const client = await RawClient.connect(server.port);
    await client.socketId();
    client.send({ event: "pusher:subscribe", data: { channel: "news" } });
    await client.event("pusher_internal:subscription_succeeded");
    const result = await herald(["trigger", "--app", "app-id", "--channel", "news", "--event", "headline", "--data", '{"title":"hi"}', "--url", url, "--apps", file]);
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining("Sent headline to news") });
    expect(await client.event("headline")).toMatchObject({ channel: "news", data: '{"title":"hi"}' });
    client.close();
  });

  it("encrypts for private-encrypted- channels so that pusher-js decrypts it", async () => {
    const client = pusherClient(server.port, DEMO_APP, { authorizer: serverSdk(server.port, DEMO_APP, { encryptionMasterKeyBase64: MASTER_KEY }) });
    clients.push(client);
    await subscribed(client, "private-encrypted-vault");
    // Two runs of the command come first, each a Node start-up: room for a busy machine.
    const received = nextCall<unknown>(15_000);
    client.channel("private-encrypted-vault").bind("secret", received.callback);
    const args = ["trigger", "--app", "app-id", "--channel", "private-encrypted-vault", "--event", "secret", "--data", '{"code":42}', "--url", url, "--apps", file];
    expect(await herald(args)).toMatchObject({ code: 2, stderr: expect.stringContaining("--encryption-master-key") });
    expect((await herald([...args, "--encryption-master-key", MASTER_KEY])).code).toBe(0);
    expect(await received.promise).toEqual({ code: 42 });
  });

  it("fails with the server's answer, or with what is missing", async () => {
    const wrong = writeAppsFile({ apps: [{ ...DEMO_APP, secret: "not-the-secret" }] });
    expect(await herald(["trigger", "--app", "app-id", "--channel", "news", "--event", "e", "--url", url, "--apps", wrong])).toMatchObject({ code: 1, stderr: expect.stringContaining("Herald answered 401") });
    expect(await herald(["trigger", "--app", "app-id", "--channel", "news", "--event", "e", "--data", "{oops", "--url", url, "--apps", file])).toMatchObject({ code: 2, stderr: expect.stringContaining("--data must be JSON") });
    expect(await herald(["trigger", "--channel", "news"])).toMatchObject({ code: 2, stderr: expect.stringContaining("--app, --channel and --event are required") });
    expect(await herald(["trigger", "--app", "app-id", "--channel", "news", "--event", "e", "--url", "http://127.0.0.1:9", "--apps", file])).toMatchObject({ code: 1, stderr: expect.stringContaining("Cannot reach Herald") });
  });
});

describe("herald health", () => {
  it("answers 0 while the server is up on the port its environment gave it, and 1 once it is gone", async () => {
    const port = await freePort();
    const server = await startHerald({ env: { HERALD_PORT: String(port) }, args: ["--port", String(port)] });
    expect(await runCli(["health", "--pid", String(server.process.pid)])).toMatchObject({ code: 0 });
    await server.stop();
    expect(await runCli(["health", "--pid", String(server.process.pid)])).toMatchObject({ code: 1 });
    const notHerald = await runCli(["health", "--pid", String(process.pid)]);
    expect(notHerald.code).toBe(2);
    expect(notHerald.output).toContain("is not Herald");
  });
});

describe("herald start", () => {
  // Two starts and stops, 0.5 to 1.5 s alone; 3.5 s and once past 10 s with both suites running side by side.
  it("runs the server, as does herald with no command", { timeout: 20_000 }, async () => {
    const file = writeAppsFile({ apps: [DEMO_APP] });
    writeFileSync(file, JSON.stringify({ apps: [DEMO_APP] }));
    for (const args of [["start"], []]) {
      const child = spawn(CLI, [...args, "--port", "0", "--host", "127.0.0.1", "--apps", file], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HERALD_METRICS_PORT: "0" } });
      const line = await new Promise<string>((done) => child.stdout.on("data", (chunk: Buffer) => String(chunk).includes("Herald listening") && done(String(chunk))));
      expect(line).toContain("with 1 app");
      const exit = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      expect(await exit).toBe(0);
    }
  });
});
