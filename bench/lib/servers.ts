/** Starts the server under test (Herald or the baseline) as its own process. */
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export type ServerKind = "herald" | "baseline";

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
  stop(): Promise<void>;
}

const root = resolve(import.meta.dirname, "../../..");

export async function startServer(kind: ServerKind): Promise<ServerUnderTest> {
  let child: ChildProcess;
  if (kind === "herald") {
    const dir = mkdtempSync(join(tmpdir(), "herald-bench-"));
    const apps = join(dir, "apps.json");
    writeFileSync(apps, JSON.stringify({ apps: [BENCH_APP] }));
    child = spawn(process.execPath, [join(root, "dist/main.js"), "--host", "127.0.0.1", "--port", "0", "--apps", apps], {
      stdio: ["ignore", "pipe", "inherit"],
    });
  } else {
    child = spawn(process.execPath, [join(root, "dist-bench/bench/baseline-server.js"), "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  }
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
  return {
    kind,
    pid: child.pid!,
    port,
    stop: () =>
      new Promise((done) => {
        child.once("exit", () => done());
        child.kill("SIGKILL");
      }),
  };
}
