/**
 * `herald health`: asks a running Herald's /health, on the port and scheme it was
 * actually started with, for a container's HEALTHCHECK. The check runs beside the
 * server, not as its child, so it reads the server's own command line
 * (/proc/<pid>/cmdline, PID 1 in a container) and environment with the server's
 * own settings parser: a port given by --port or HERALD_PORT, and TLS from
 * --ssl-cert or HERALD_SSL_CERT, are all seen.
 */
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { parseArgs } from "node:util";
import { readConfig } from "../config.js";
import { UsageError } from "./usage-error.js";

const TIMEOUT_MS = 3000;

export async function health(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { pid: { type: "string", default: "1" } }, strict: true });
  const pid = values.pid;
  if (!/^\d+$/.test(pid)) throw new UsageError(`--pid must be a process id, not "${pid}".`);
  const config = readConfig(serverArgs(pid), { ...env, ...serverEnvironment(pid) });
  if (!config) throw new UsageError(`process ${pid} was asked for --help, not started.`);
  if (config.port === 0) throw new UsageError("the server listens on a port it picked (--port 0); there is no fixed port to ask.");
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const status = await get(config.tls !== undefined, host, config.port);
  if (status !== 200) throw new Error(`GET /health answered ${status}.`);
}

/** The server's flags: what follows its script (and an optional "start") on its command line. */
function serverArgs(pid: string): string[] {
  const words = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((word) => word !== "");
  const script = words.findIndex((word) => /(^|\/)(main|cli)\.js$/.test(word));
  if (script < 0) throw new UsageError(`process ${pid} is not Herald (${words.slice(0, 3).join(" ")}).`);
  const rest = words.slice(script + 1);
  return rest[0] === "start" ? rest.slice(1) : rest;
}

/** The server's environment where this process may read it; otherwise this process's own (a container shares it). */
function serverEnvironment(pid: string): NodeJS.ProcessEnv {
  try {
    const entries = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter((entry) => entry.includes("="));
    return Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
  } catch {
    return {};
  }
}

function get(tls: boolean, host: string, port: number): Promise<number> {
  // A liveness check, not an identity check: the certificate names the public host, not 127.0.0.1.
  const request = tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/health", method: "GET", timeout: TIMEOUT_MS, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${host}:${port} within ${TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end();
  });
}
