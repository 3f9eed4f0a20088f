/**
 * A throwaway HAProxy from PATH (Debian's haproxy), in front of Herald nodes, with
 * the backend the README gives for the HTTP fallback on a cluster.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Nginx as Proxy } from "./nginx.js";
import { accepts } from "./nginx.js";
import { freePort } from "./redis-server.js";

export async function startHaproxy(upstreamPorts: number[]): Promise<Proxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "herald-haproxy-"));
  const config = `
global
  maxconn 512
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout tunnel 300s
frontend herald_in
  bind 127.0.0.1:${port}
  default_backend herald
backend herald
  balance uri depth 5
  hash-type consistent
  option httpchk
  http-check send meth GET uri /ready ver HTTP/1.1 hdr Host herald
  http-check expect status 200
${upstreamPorts.map((upstream, index) => `  server herald-${index + 1} 127.0.0.1:${upstream} check inter 1s`).join("\n")}
`;
  writeFileSync(join(dir, "haproxy.cfg"), config);
  const child = spawn("haproxy", ["-db", "-f", join(dir, "haproxy.cfg")], { stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  child.stderr!.on("data", (chunk: Buffer) => (errors += chunk));
  child.once("error", (error) => (errors += `${error.message}: install Debian's haproxy (apt-get install -y haproxy)`));
  const deadline = Date.now() + 5000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || errors.includes("install Debian's haproxy") || Date.now() > deadline) throw new Error(`haproxy did not start: ${errors}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", () => done());
        child.kill("SIGTERM");
      }),
  };
}
