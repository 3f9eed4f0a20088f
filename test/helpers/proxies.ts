/**
 * Throwaway proxies from PATH (Debian's nginx-light and haproxy) in front of Herald
 * nodes, with the routing the README gives for the HTTP fallback on a cluster.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { freePort } from "./redis-server.js";
import { tempDir } from "./temp-dir.js";

/** A proxy in front of the nodes. */
export interface Proxy {
  readonly port: number;
  stop(): Promise<void>;
}

/** nginx balancing over `upstreamPorts` on 127.0.0.1, routing each HTTP fallback session to one node. */
export async function startNginx(upstreamPorts: number[]): Promise<Proxy> {
  const port = await freePort();
  const dir = tempDir("nginx");
  const config = `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $request_uri $herald_route {
    "~^/pusher/app/[^/]+/(?<session>[0-9]+/[0-9a-z]+)/" $session;
    default $request_id;
  }
  upstream herald {
    hash $herald_route consistent;
${upstreamPorts.map((upstream) => `    server 127.0.0.1:${upstream};`).join("\n")}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://herald;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 300s;
    }
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), config);
  return run("nginx", ["-p", dir, "-c", join(dir, "nginx.conf")], port, "nginx-light");
}

/** HAProxy balancing over `upstreamPorts` on 127.0.0.1 by the session's path segments. */
export async function startHaproxy(upstreamPorts: number[]): Promise<Proxy> {
  const port = await freePort();
  const dir = tempDir("haproxy");
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
  return run("haproxy", ["-db", "-f", join(dir, "haproxy.cfg")], port, "haproxy");
}

/** Runs the proxy in the foreground until it accepts connections on `port`. */
async function run(command: string, args: string[], port: number, debianPackage: string): Promise<Proxy> {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  let missing = false;
  child.stderr!.on("data", (chunk: Buffer) => (errors += chunk));
  child.once("error", (error) => {
    missing = true;
    errors += `${error.message}: install Debian's ${debianPackage} (apt-get install -y ${debianPackage})`;
  });
  const deadline = Date.now() + 5000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || missing || Date.now() > deadline) throw new Error(`${command} did not start: ${errors}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once("exit", () => done());
        // SIGTERM: a fast stop for both; nginx's graceful one (SIGQUIT) would wait for open streams.
        child.kill("SIGTERM");
      }),
  };
}

/** Whether something accepts connections on the port yet. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => resolve(socket.end() && true));
    socket.once("error", () => resolve(false));
  });
}
