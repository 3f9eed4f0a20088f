/**
 * Forces a full garbage collection in a server started with --inspect, through
 * the DevTools protocol, so RSS is read with the same heap state in any server
 * and without a hook in its code.
 */
import WebSocket from "ws";

export async function collectGarbage(inspectorUrl: string): Promise<void> {
  const ws = new WebSocket(inspectorUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  for (let id = 1; id <= 2; id++) {
    await new Promise<void>((resolve) => {
      ws.on("message", function answered(data) {
        if ((JSON.parse(String(data)) as { id?: number }).id === id) {
          ws.off("message", answered);
          resolve();
        }
      });
      ws.send(JSON.stringify({ id, method: "HeapProfiler.collectGarbage" }));
    });
  }
  ws.close();
}
