/**
 * The one place that loads uWebSockets.js. Its loader silently swaps in a slow
 * JavaScript emulation when the native binary cannot load (wrong Node ABI,
 * platform or libc); Herald refuses to run on that.
 */
import uWS, { type TemplatedApp, type us_listen_socket } from "uWebSockets.js";

export default uWS;
export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior } from "uWebSockets.js";

/** Why the loaded engine is not the native one, or null when it is. */
export function nativeEngineProblem(): string | null {
  const native = typeof uWS.App === "function" && Function.prototype.toString.call(uWS.App).includes("[native code]");
  if (native) return null;
  return (
    `uWebSockets.js could not load its native binary for ${process.platform}-${process.arch} ` +
    `(Node ABI ${process.versions.modules}) and fell back to a JavaScript emulation, which is far slower ` +
    "and lacks native pub/sub. Run Herald on Node 20 on Linux x64/arm64 (glibc), macOS or Windows, " +
    "and unset UWS_USE_FALLBACK if it is set."
  );
}

/**
 * Listens sharing the port with the process's other worker threads (SO_REUSEPORT,
 * the engine's default): the kernel spreads connections over them. Port 0 takes a
 * free port, which the other threads then share. Resolves to the bound port, or null.
 * The stop closes the app, not the listen socket (closeApp).
 */
export function listenShared(app: TemplatedApp, host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    app.listen(host, port, (socket) => resolve(socket ? uWS.us_socket_local_port(socket) : null));
  });
}

/**
 * Listens without SO_REUSEPORT (which uWS sets by default), so a second server on
 * a taken port fails instead of silently sharing it. Resolves to the bound port, or null.
 */
export function listenExclusively(app: TemplatedApp, host: string, port: number): Promise<number | null> {
  const exclusive = (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT;
  // The host + options overload exists in the engine but not in its type declarations.
  const listen = app.listen as unknown as (
    host: string,
    port: number,
    options: number,
    callback: (socket: us_listen_socket | false) => void,
  ) => void;
  return new Promise((resolve) => {
    listen.call(app, host, port, exclusive, (socket) => resolve(socket ? uWS.us_socket_local_port(socket) : null));
  });
}

/**
 * Closes the app's listen socket and every HTTP connection it holds, idle keep-alive
 * ones included, which nothing else can close: a worker thread's loop would wait for
 * them (a scraper's or an SDK's kept connection) until the engine's 10 s idle timeout.
 * The engine has `close()`; its type declarations do not.
 */
export function closeApp(app: TemplatedApp): void {
  (app as TemplatedApp & { close(): void }).close();
}
