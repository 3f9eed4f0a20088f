/**
 * uWebSockets.js topic of an app's channel. Channel names cannot contain ":",
 * so the last ":" always separates the app id from the channel.
 */
export function topicOf(appId: string, channel: string): string {
  return `${appId}:${channel}`;
}
