/**
 * uWebSockets.js topic of an app's channel. App ids cannot hold control
 * characters (apps.json is validated), so the first unit separator always ends
 * the app id, and no two apps' channels share a topic, whatever a channel name
 * holds (`#watchers:{user}`, `#server-to-user-{user}`).
 */
export function topicOf(appId: string, channel: string): string {
  return `${appId}\x1f${channel}`;
}
