/**
 * Notices changes to a file. The directory is watched, not the file: editors,
 * `mv` and Kubernetes ConfigMap updates replace the file (or swap a `..data`
 * symlink) instead of writing into it, and a watch on the old file would go deaf.
 */
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";

/** Editors write in several steps; one call follows a burst of events. */
const SETTLE_MS = 200;

/** Calls `onChange` after the file changes, for as long as the process runs. */
export function watchFile(path: string, onChange: () => void, onError: (error: Error) => void): void {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(resolve(path)), (_event, filename) => {
      if (filename !== null && filename !== name && !filename.startsWith("..")) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, SETTLE_MS);
    });
  } catch (error) {
    // Out of inotify watches, say: the server runs on, reloading on SIGHUP only.
    return onError(error as Error);
  }
  watcher.on("error", onError);
  // Watching must not keep a stopping process alive.
  watcher.unref();
}
