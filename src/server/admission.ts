/**
 * Whether a WebSocket upgrade to `/app/{key}` may become a Pusher connection.
 * Refusals still complete the upgrade: the Pusher protocol reports them as a
 * `pusher:error` frame and a close code that tells pusher-js what to do next.
 */
import type { App } from "../apps/app.js";
import type { AppRegistry } from "../apps/app-registry.js";
import { originAllowed } from "../apps/origins.js";
import { Closes, type Closing } from "../protocol/closes.js";

export type Admission = { app: App; rejection: undefined } | { app: undefined; rejection: Closing };

export function admit(apps: AppRegistry, key: string, rawQuery: string, origin: string): Admission {
  const refuse = (rejection: Closing): Admission => ({ app: undefined, rejection });
  const app = apps.byKey(key);
  if (!app) return refuse(Closes.unknownKey(key));
  if (!app.enabled) return refuse(Closes.appDisabled(app.id));
  const protocol = new URLSearchParams(rawQuery).get("protocol");
  // Older clients omit the version; pusher-js sends 7.
  if (protocol !== null && protocol !== "7") return refuse(Closes.unsupportedProtocol(protocol));
  if (!originAllowed(origin, app.allowedOrigins)) return refuse(Closes.originNotAllowed(origin, app.id));
  return { app, rejection: undefined };
}
