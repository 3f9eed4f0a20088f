/** Starts the server under test (Herald or the baseline) as its own process. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export type ServerKind = "herald" | "baseline";

/** A bench's `--server`, or its exit with what it takes. */
export function serverOption(value: string): ServerKind {
  if (value === "herald" || value === "baseline") return value;
  console.error(`--server is herald or baseline, not "${value}".`);
  process.exit(2);
}

export const BENCH_APP = {
  id: "bench",
  key: "bench-key",
  secret: "bench-secret",
  enableClientMessages: true,
  maxPresenceMembersPerChannel: 100_000,
  maxEventPayloadInKb: 100,
  maxEventBatchSize: 100,
};

export interface ServerUnderTest {
  kind: ServerKind;
  pid: number;
  port: number;
  /** The DevTools endpoint when started with --inspect. */
  inspectorUrl: string | undefined;
  stop(): Promise<void>;
}

const root = resolve(import.meta.dirname, "../../..");

/** Kills `child` if this process ends first (a bench that fails half-way), so no server outlives it. */
export function endsWithUs(child: ChildProcess): void {
  const kill = () => child.kill("SIGKILL");
  process.on("exit", kill);
  child.once("exit", () => process.off("exit", kill));
}

/** `nodeFlags` go to the server's Node, e.g. --cpu-prof for profiling; `serverArgs` to the server, e.g. --redis (Herald) or --workers (both). */
export async function startServer(kind: ServerKind, nodeFlags: string[] = [], serverArgs: string[] = []): Promise<ServerUnderTest> {
  let child: ChildProcess;
  if (kind === "herald") {
    const dir = mkdtempSync(join(tmpdir(), "herald-bench-"));
    const apps = join(dir, "apps.json");
    writeFileSync(apps, JSON.stringify({ apps: [BENCH_APP] }));
    child = spawn(process.execPath, [...nodeFlags, join(root, "dist/main.js"), "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--apps", apps, ...serverArgs], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  } else {
    child = spawn(process.execPath, [...nodeFlags, join(root, "dist-bench/bench/baseline-server.js"), "--port", "0", ...serverArgs], { stdio: ["ignore", "pipe", "pipe"] });
  }
  endsWithUs(child);
  let inspectorUrl: string | undefined;
  const inspectorReady = new Promise<void>((resolveInspector) => {
    if (!nodeFlags.some((flag) => flag.startsWith("--inspect"))) return resolveInspector();
    createInterface({ input: child.stderr! }).on("line", (line) => {
      const match = /Debugger listening on (ws:\/\/\S+)/.exec(line);
      if (match) {
        inspectorUrl = match[1];
        resolveInspector();
      }
    });
  });
  if (!nodeFlags.some((flag) => flag.startsWith("--inspect"))) child.stderr!.pipe(process.stderr);
  const port = await new Promise<number>((resolvePort, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      try {
        const parsed = JSON.parse(line) as { port?: number };
        if (typeof parsed.port === "number") resolvePort(parsed.port);
      } catch {
        // not JSON
      }
    });
    child.once("exit", (code) => reject(new Error(`${kind} exited with ${code} before listening`)));
  });
  await inspectorReady;
  return {
    kind,
    pid: child.pid!,
    port,
    inspectorUrl,
    stop: () =>
      new Promise((done) => {
        child.once("exit", () => done());
        // SIGINT lets a profiled server write its profile; both servers exit on it at once.
        child.kill(nodeFlags.length ? "SIGINT" : "SIGKILL");
      }),
  };
}
