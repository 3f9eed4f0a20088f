/** Native TLS: wss:// and https:// served by uWebSockets.js's SSLApp, used by pusher-js and the pusher SDK. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pusher, nextCall, serverSdk, subscribed } from "./helpers/clients.js";
import { freePort } from "./helpers/redis-server.js";
import { DEMO_APP, runCli, runHerald, startHerald, type Herald } from "./helpers/herald.js";
import { tempDir } from "./helpers/temp-dir.js";

// The certificate is self-signed: this file trusts anything (test/setup.ts restores the variable after it).
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

const dir = tempDir("tls");
const cert = join(dir, "cert.pem");
const key = join(dir, "key.pem");
let herald: Herald;

beforeAll(async () => {
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  herald = await startHerald({ args: ["--ssl-cert", cert, "--ssl-key", key] });
});
afterAll(() => herald.stop());

describe("TLS", () => {
  it("serves pusher-js over wss and the HTTP API over https", async () => {
    const client = new Pusher(DEMO_APP.key, {
      cluster: "mt1",
      wsHost: "127.0.0.1",
      wssPort: herald.port,
      forceTLS: true,
      // pusher-js calls its WebSocket transport "ws" either way; forceTLS makes it wss://.
      enabledTransports: ["ws"],
      disableStats: true,
    });
    await subscribed(client, "secure-news");
    const got = nextCall<unknown>();
    client.channel("secure-news").bind("hello", got.callback);
    await serverSdk(herald.port, DEMO_APP, { useTLS: true }).trigger("secure-news", "hello", { over: "tls" });
    expect(await got.promise).toEqual({ over: "tls" });
    const health = await fetch(`https://127.0.0.1:${herald.port}/health`);
    expect(health.status).toBe(200);
    expect(herald.logs.find((line) => line.msg.startsWith("Herald listening"))?.msg).toContain("(TLS)");
    client.disconnect();
  });

  it.each([
    [["--ssl-cert", "/nonexistent/cert.pem", "--ssl-key", "/nonexistent/key.pem"], "Cannot read the TLS certificate (--ssl-cert) at /nonexistent/cert.pem"],
    [["--ssl-cert", "KEY", "--ssl-key", "CERT"], "could not be loaded: check that both are PEM"],
  ])("refuses to start with TLS files it cannot use: %j", async (args, message) => {
    const run = await runHerald(["--port", "0", ...args.map((arg) => (arg === "KEY" ? key : arg === "CERT" ? cert : arg))]);
    expect(run.code).toBe(1);
    expect(run.output).toContain(message);
  });

  it("needs both the certificate and the key", async () => {
    const run = await runHerald(["--ssl-cert", cert]);
    expect(run.code).toBe(2);
    expect(run.output).toContain("TLS needs both --ssl-cert");
  });
});

describe("herald health, as the image's HEALTHCHECK runs it", () => {
  it("asks /health over https on the port the server was given, by flag or by variable", async () => {
    const port = await freePort();
    const tlsByVariables = await startHerald({ args: ["--port", String(port)], env: { HERALD_SSL_CERT: cert, HERALD_SSL_KEY: key } });
    try {
      const check = await runCli(["health", "--pid", String(tlsByVariables.process.pid)]);
      expect(check).toMatchObject({ code: 0 });
    } finally {
      await tlsByVariables.stop();
    }
    const after = await runCli(["health", "--pid", String(herald.process.pid)]);
    // The suite's server listens on a port it picked: there is nothing fixed to ask, and it says so.
    expect(after.code).toBe(2);
    expect(after.output).toContain("--port 0");
  });
});
