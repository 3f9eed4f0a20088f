/**
 * Applies a reloaded apps.json to a running node: lookups see the new apps at
 * once, open sockets of removed or disabled apps are closed as a new connection
 * would be refused, the others carry on under their app's new settings, and the
 * webhooks and cluster channels of changed or added apps are set up afresh.
 */
import type { App } from "../apps/app.js";
import type { ClusterServices } from "../cluster/cluster.js";
import { Closes } from "../protocol/closes.js";
import { closeConnection } from "./close-connection.js";
import type { AppRegistry } from "../apps/app-registry.js";
import type { Webhooks } from "../webhooks/webhooks.js";
import type { SocketRegistry } from "./socket-registry.js";

export interface AppChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  /** Sockets closed because their app was removed, disabled or given a new key. */
  readonly closedSockets: number;
}

/** What a reload touches. */
export interface ReloadServices {
  readonly apps: AppRegistry;
  readonly sockets: SocketRegistry;
  readonly webhooks: Webhooks;
  /** Subscribes the cluster to the channels of added apps. */
  readonly cluster: Pick<ClusterServices, "addApps">;
}

export async function applyApps(ctx: ReloadServices, next: readonly App[]): Promise<AppChanges> {
  const before = new Map([...ctx.apps.all()].map((app) => [app.id, app]));
  ctx.apps.replace(next);
  const added = next.filter((app) => !before.has(app.id)).map((app) => app.id);
  const removed = [...before.keys()].filter((id) => ctx.apps.byId(id) === undefined);
  const changed = next.filter((app) => before.has(app.id) && fingerprint(before.get(app.id)!) !== fingerprint(app)).map((app) => app.id);

  let closedSockets = 0;
  // Closing a socket removes it from the registry: walk a copy.
  for (const ws of [...ctx.sockets.sockets()]) {
    const connection = ws.getUserData();
    const current = connection.app && ctx.apps.byId(connection.app.id);
    const refusal =
      !current ? Closes.appRemoved(connection.app!.id)
      : !current.enabled ? Closes.appDisabledOnReload(current.id)
      : current.key !== connection.app!.key ? Closes.appKeyChanged(current.id)
      : undefined;
    if (!refusal) {
      connection.app = current;
      continue;
    }
    closedSockets += 1;
    closeConnection(ws, refusal);
  }
  ctx.webhooks.retireQueuesOf(new Set([...changed, ...removed]));
  await ctx.cluster.addApps(added);
  return { added, removed, changed, closedSockets };
}

/** Two App values are the same settings when this is equal (webhook event sets compared as sorted lists). */
function fingerprint(app: App): string {
  return JSON.stringify(app, (_key, value: unknown) => (value instanceof Set ? [...(value as Set<string>)].sort() : value));
}
