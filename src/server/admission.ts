/**
 * Whether a WebSocket upgrade to `/app/{key}` may become a Pusher connection.
 * Refusals still complete the upgrade: the Pusher protocol reports them as a
 * `pusher:error` frame and a close code that tells pusher-js what to do next.
 */
import type { App } from "../apps/app.js";
import type { AppRegistry } from "../apps/app-registry.js";
import { originAllowed } from "../apps/origins.js";
import { ErrorCode } from "../protocol/error-codes.js";
import type { Rejection } from "./connection.js";

export type Admission = { app: App; rejection: undefined } | { app: undefined; rejection: Rejection };

export function admit(apps: AppRegistry, key: string, rawQuery: string, origin: string): Admission {
  const refuse = (code: Rejection["code"], message: string): Admission => ({ app: undefined, rejection: { code, message } });
  const app = apps.byKey(key);
  if (!app) {
    return refuse(ErrorCode.AppNotFound, `No app has the key "${key.slice(0, 100)}"; check the key in your Echo/pusher-js config against apps.json.`);
  }
  if (!app.enabled) return refuse(ErrorCode.AppDisabled, `The app ${app.id} is disabled.`);
  const protocol = new URLSearchParams(rawQuery).get("protocol");
  // Older clients omit the version; pusher-js sends 7.
  if (protocol !== null && protocol !== "7") {
    return refuse(ErrorCode.UnsupportedProtocol, `Protocol version ${protocol.slice(0, 20)} is not supported; use pusher-js 4 or later (protocol 7).`);
  }
  if (!originAllowed(origin, app.allowedOrigins)) {
    return refuse(ErrorCode.OriginNotAllowed, `The origin "${origin.slice(0, 200)}" is not in the allowedOrigins of app ${app.id}.`);
  }
  return { app, rejection: undefined };
}
