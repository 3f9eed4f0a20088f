/**
 * Runs the built Herald (dist/main.js) as a child process on a free port, the way
 * a user runs it, and reads its JSON log lines.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { tempDir } from "./temp-dir.js";

export const MAIN = resolve(import.meta.dirname, "../../dist/main.js");
const CLI = resolve(import.meta.dirname, "../../dist/cli.js");

export interface AppConfig {
  id: string;
  key: string;
  secret: string;
  [field: string]: unknown;
}

export const DEMO_APP: AppConfig = { id: "app-id", key: "app-key", secret: "app-secret", enableClientMessages: true };

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface Herald {
  readonly port: number;
  /** The ops listener's port (metrics, console), when a test turned it on. */
  readonly opsPort: number | undefined;
  readonly process: ChildProcess;
  readonly logs: LogLine[];
  stop(): Promise<void>;
}

export function writeAppsFile(content: unknown): string {
  const dir = tempDir("test");
  const file = join(dir, "apps.json");
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

function collectLines(child: ChildProcess, logs: LogLine[], raw: string[]): void {
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on("line", (line) => {
      raw.push(line);
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line (e.g. a warning printed by Node)
      }
    });
  }
}

interface Started {
  readonly child: ChildProcess;
  port: number;
  readonly logs: LogLine[];
  exitedAt?: number;
}

/** The Heralds started, with what each logged: those still running, and those that exited since the running test began. */
const heralds = new Set<Started>();

/**
 * For a failed test: what each Herald that ran during it logged since `sinceMs`, the
 * last `max` lines of each, so that a failure seen once (a busy CI machine) leaves its trail.
 */
export function heraldLogsSince(sinceMs: number, max = 60): string {
  return [...heralds]
    .filter(({ exitedAt }) => exitedAt === undefined || exitedAt >= sinceMs)
    .map(({ port, logs, exitedAt }) => {
      const lines = logs.filter((line) => typeof line.time !== "number" || line.time >= sinceMs).slice(-max);
      const shown = lines.map(({ level, msg, time, service: _service, ...rest }) => `  ${typeof time === "number" ? time - sinceMs : "?"} ms ${level} ${msg} ${JSON.stringify(rest)}`);
      return `Herald on port ${port}${exitedAt === undefined ? "" : ", since exited"}, its last ${lines.length} lines since the test began (ms from then, level, message, fields):\n${shown.join("\n")}`;
    })
    .join("\n");
}

/** Forgets the Heralds that exited before `sinceMs` (the start of the next test). */
export function forgetExitedHeralds(sinceMs: number): void {
  for (const started of heralds) if (started.exitedAt !== undefined && started.exitedAt < sinceMs) heralds.delete(started);
}

/**
 * A test that fails half-way never reaches its own stop(): test/setup.ts calls this
 * at the end of each file, so no server outlives its file.
 */
export async function stopLeftoverHeralds(): Promise<void> {
  await Promise.all([...heralds].filter(({ exitedAt }) => exitedAt === undefined).map(({ child }) => stopChild(child)));
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once("exit", () => done());
    child.kill("SIGTERM");
  });
}

/** Tests run many servers at once: the metrics port is off unless a test asks for it. */
const QUIET_OPS = { HERALD_METRICS_PORT: "0" };

/**
 * Starts Herald with the given apps (default: the demo app) and waits until it
 * listens. `apps: null` passes no apps file, for the other ways of giving apps.
 */
export async function startHerald(
  options: { apps?: AppConfig[] | null; args?: string[]; env?: Record<string, string> } = {},
): Promise<Herald> {
  const appsArgs = options.apps === null ? [] : ["--apps", writeAppsFile({ apps: options.apps ?? [DEMO_APP] })];
  const args = options.args ?? [];
  // HERALD_TEST_WORKERS=2 runs the integration tests against worker threads (npm run test:workers), cluster nodes on Redis among them.
  const workers = process.env.HERALD_TEST_WORKERS && !args.includes("--workers") ? ["--workers", process.env.HERALD_TEST_WORKERS] : [];
  const child = spawn(process.execPath, [MAIN, "--host", "127.0.0.1", "--port", "0", ...appsArgs, ...workers, ...args], {
    env: { ...process.env, ...QUIET_OPS, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: LogLine[] = [];
  const started: Started = { child, port: 0, logs };
  heralds.add(started);
  child.once("exit", () => (started.exitedAt = Date.now()));
  const raw: string[] = [];
  collectLines(child, logs, raw);
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setInterval(() => {
      const listening = logs.find((line) => typeof line.port === "number" && line.msg.startsWith("Herald listening"));
      if (listening) {
        clearInterval(timer);
        resolvePort(listening.port as number);
      }
    }, 10);
    child.once("exit", (code, signal) => {
      clearInterval(timer);
      reject(new Error(`Herald exited with ${signal ?? code} before listening:\n${raw.join("\n")}`));
    });
  });
  const listening = logs.find((line) => line.msg.startsWith("Herald listening"))!;
  started.port = port;
  return {
    port,
    opsPort: typeof listening.metricsPort === "number" ? listening.metricsPort : undefined,
    process: child,
    logs,
    stop: () => stopChild(child),
  };
}

/**
 * Runs Herald to completion (for start-up failures) and returns its exit code and
 * output; a server that keeps running is stopped once its output holds `until`, or
 * at `timeoutMs`. `launcher`: a command that execs Node with Herald's arguments after its own.
 */
export function runHerald(args: string[], env: Record<string, string> = {}, timeoutMs = 10_000, cwd?: string, until?: string, launcher: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const [command, ...before] = [...launcher, process.execPath];
    const child = spawn(command!, [...before, MAIN, ...args], { env: { ...process.env, ...QUIET_OPS, ...env }, stdio: ["ignore", "pipe", "pipe"], cwd });
    let output = "";
    let stopped = false;
    const read = (chunk: Buffer) => {
      output += chunk;
      // Once: a second SIGTERM ends Herald at once, with exit code 1.
      if (until === undefined || stopped || !output.includes(until)) return;
      stopped = true;
      child.kill("SIGTERM");
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    // "close", not "exit": the output may still be on its way when the process has exited.
    child.once("close", (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}

/** Runs `herald <args>` (dist/cli.js) to completion: its exit code and output. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...QUIET_OPS, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.once("close", (code) => resolveRun({ code, output }));
  });
}
