/**
 * Forces a full garbage collection in a server started with --inspect, through
 * the DevTools protocol, so RSS is read with the same heap state in any server
 * and without a hook in its code. Each worker thread has a heap of its own
 * (Herald with --workers): the main thread's inspector reaches them through its
 * NodeWorker domain, and they are collected too. Resolves with each heap's bytes
 * in use after the collection, the main thread's first.
 */
import WebSocket from "ws";

interface Reply {
  id?: number;
  method?: string;
  params?: { sessionId: string; message?: string };
  result?: { usedSize?: number };
}

/** How long a worker's attachment may take to be announced once NodeWorker is enabled. */
const WORKERS_ANNOUNCED_MS = 200;

export async function collectGarbage(inspectorUrl: string): Promise<number[]> {
  const ws = new WebSocket(inspectorUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const waiting = new Map<string, (reply: Reply) => void>();
  const workers: string[] = [];
  ws.on("message", (data) => {
    const reply = JSON.parse(String(data)) as Reply;
    if (reply.id !== undefined) waiting.get(`main:${reply.id}`)?.(reply);
    if (reply.method === "NodeWorker.attachedToWorker") workers.push(reply.params!.sessionId);
    if (reply.method === "NodeWorker.receivedMessageFromWorker") {
      const inner = JSON.parse(reply.params!.message!) as Reply;
      if (inner.id !== undefined) waiting.get(`${reply.params!.sessionId}:${inner.id}`)?.(inner);
    }
  });
  let nextId = 1;
  const call = (method: string, params: object = {}, session?: string) =>
    new Promise<Reply>((resolve) => {
      const id = nextId++;
      waiting.set(`${session ?? "main"}:${id}`, resolve);
      const message = JSON.stringify({ id, method, params });
      ws.send(session === undefined ? message : JSON.stringify({ id: nextId++, method: "NodeWorker.sendMessageToWorker", params: { sessionId: session, message } }));
    });
  await call("NodeWorker.enable", { waitForDebuggerOnStart: false });
  await new Promise((resolve) => setTimeout(resolve, WORKERS_ANNOUNCED_MS));
  for (let round = 0; round < 2; round++) {
    await call("HeapProfiler.collectGarbage");
    for (const session of workers) await call("HeapProfiler.collectGarbage", {}, session);
  }
  const heaps: number[] = [];
  for (const session of [undefined, ...workers]) heaps.push((await call("Runtime.getHeapUsage", {}, session)).result?.usedSize ?? NaN);
  ws.close();
  return heaps;
}
