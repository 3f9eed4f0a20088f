/**
 * apps.json (or the Soketi config) is read again on SIGHUP and whenever the file
 * changes, and put into effect by applyApps. A file that does not load is logged
 * and ignored: the apps in force stay.
 */
import type { App } from "../apps/app.js";
import type { AppRegistry } from "../apps/app-registry.js";
import { AppsFileError, loadApps } from "../apps/apps-file.js";
import { watchFile } from "../apps/file-watch.js";
import { describeAppsSource, type Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { AppChanges } from "./apps-reload.js";

/** `apps` is the registry in force, which `apply` updates. */
export function reloadAppsOnChange(source: Config["apps"], apps: AppRegistry, apply: (next: readonly App[]) => Promise<AppChanges>, log: Logger): void {
  let queue = Promise.resolve();
  const reload = (trigger: string) => {
    // One reload at a time, in order, so the last file read is the one in force.
    queue = queue.then(async () => {
      let loaded;
      try {
        loaded = loadApps(source);
      } catch (error) {
        if (!(error instanceof AppsFileError)) throw error;
        log.error({ trigger }, `apps not reloaded, the ${apps.size} running apps stay in force: ${error.message}`);
        return;
      }
      for (const warning of loaded.warnings) log.warn(warning);
      const { added, removed, changed, closedSockets } = await apply(loaded.apps);
      if (added.length + removed.length + changed.length === 0) return void log.debug({ trigger }, "apps reloaded: nothing changed");
      log.info({ trigger, added, removed, changed, closedSockets }, `apps reloaded from ${describeAppsSource(source)}: ${apps.size} apps (${added.length} added, ${removed.length} removed, ${changed.length} changed)`);
    }).catch((error: unknown) => log.error({ err: error, trigger }, "apps reload failed"));
  };
  process.on("SIGHUP", () => reload("SIGHUP"));
  if (source.kind !== "env-app") {
    watchFile(source.path, () => reload("file changed"), (error) => log.warn({ err: error }, `cannot watch ${source.path} for changes; send SIGHUP to reload it`));
  }
}
