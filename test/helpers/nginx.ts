/**
 * A throwaway nginx from PATH (Debian's nginx-light), in front of Herald nodes,
 * with the routing the README gives for the HTTP fallback on a cluster.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./redis-server.js";

/** A proxy in front of the nodes. */
export interface Nginx {
  readonly port: number;
  stop(): Promise<void>;
}

/** nginx balancing over `upstreamPorts` on 127.0.0.1, routing each HTTP fallback session to one node. */
export async function startNginx(upstreamPorts: number[]): Promise<Nginx> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "herald-nginx-"));
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
  const child = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  child.stderr!.on("data", (chunk: Buffer) => (errors += chunk));
  child.once("error", (error) => (errors += `${error.message}: install Debian's nginx (apt-get install -y nginx-light)`));
  const deadline = Date.now() + 5000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || errors.includes("install Debian's nginx") || Date.now() > deadline) throw new Error(`nginx did not start: ${errors}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", () => done());
        // SIGTERM: a fast stop; a graceful one (SIGQUIT) would wait for open streams.
        child.kill("SIGTERM");
      }),
  };
}

/** Whether something accepts connections on the port yet. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => resolve(socket.end() && true));
    socket.once("error", () => resolve(false));
  });
}
